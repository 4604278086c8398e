"""Columns that must agree with each other within a row.

- An INSZ encodes the birth date (YYMMDD; a BIS number adds 20 or 40 to the month) and the sex
  (odd serial = man); a mismatch with birth_date / sex is a warning, because real registers keep
  a number when a birth date is corrected or a date was unknown (month or day 00).
- A resident has a province, a non-resident none (warning: real data may lack an address).
- A welfare support type belongs to the level its row claims (error: the code list says so).
"""

from __future__ import annotations

from kluis import codes as code_lists
from kluis.warehouse.checks.sql import RowCheck, literal

_MONTH = "TRY_CAST(substr(insz, 3, 2) AS INTEGER)"
_DAY = "TRY_CAST(substr(insz, 5, 2) AS INTEGER)"
_SERIAL = "TRY_CAST(substr(insz, 7, 3) AS INTEGER)"


def consistency_checks() -> list[RowCheck]:
    born = (
        f"{_MONTH} % 20 BETWEEN 1 AND 12 AND {_DAY} BETWEEN 1 AND 31 AND {_MONTH} < 60 AND "
        f"(substr(insz, 1, 2) <> strftime(birth_date, '%y') OR {_MONTH} % 20 <> "
        f"month(birth_date) OR {_DAY} <> day(birth_date))"
    )
    sex_known = f"({_MONTH} < 20 OR {_MONTH} BETWEEN 40 AND 59)"
    levels = code_lists.load("welfare_support_type").mapping("level")
    by_level = " OR ".join(
        f"(level = {int(lv)} AND support_type IN "
        f"({', '.join(literal(c) for c, x in levels.items() if x == lv)}))"
        for lv in sorted(set(levels.values()))
    )
    return [
        RowCheck(
            "insz_birth_date",
            "persons",
            "insz",
            ("insz", "birth_date"),
            born,
            "'insz=' || insz || ', birth_date=' || birth_date::VARCHAR",
            "the INSZ does not encode the birth date (YYMMDD)",
            severity="warning",
        ),
        RowCheck(
            "insz_sex",
            "persons",
            "insz",
            ("insz", "sex"),
            f"{sex_known} AND sex IN ('1', '2') AND ({_SERIAL} % 2 = 1) <> (sex = '1')",
            "'insz=' || insz || ', sex=' || sex",
            "the INSZ serial's parity (odd = man, even = woman) disagrees with sex",
            severity="warning",
        ),
        RowCheck(
            "province_resident",
            "person_year",
            "province",
            ("resident", "province"),
            "(resident AND province IS NULL) OR (NOT resident AND province IS NOT NULL)",
            "'resident=' || resident::VARCHAR || ', province=' || coalesce(province, 'null')",
            "a resident must have a province and a non-resident none",
            severity="warning",
        ),
        RowCheck(
            "welfare_level",
            "welfare_support",
            "support_type",
            ("level", "support_type"),
            f"level IS NOT NULL AND support_type IS NOT NULL AND NOT ({by_level})",
            "'level=' || level::VARCHAR || ', support_type=' || support_type",
            "support type of another level of the nomenclature (see code list "
            "welfare_support_type, column level)",
        ),
    ]
