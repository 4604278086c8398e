"""Plausible dates: births, deaths, spells and employer lifetimes that can actually have happened,
and ages within the warehouse's population scope (13-66 on 31 December)."""

from __future__ import annotations

from kluis.schema import TABLES
from kluis.warehouse.checks.sql import RowCheck, Runner

MIN_AGE, MAX_AGE = 13, 66  # person_year scope: age on 31 December
EARLIEST_BIRTH = "1900-01-01"


def _persons_checks(last: int) -> list[RowCheck]:
    end = f"DATE '{last}-12-31'"
    both = "'birth_date=' || birth_date::VARCHAR || ', death_date=' || death_date::VARCHAR"
    return [
        RowCheck(
            "date_birth",
            "persons",
            "birth_date",
            ("birth_date",),
            f"birth_date < DATE '{EARLIEST_BIRTH}' OR birth_date > {end}",
            "birth_date",
            f"birth date before {EARLIEST_BIRTH} or after the warehouse's last year ({last})",
        ),
        RowCheck(
            "date_death_before_birth",
            "persons",
            "death_date",
            ("birth_date", "death_date"),
            "death_date < birth_date",
            both,
            "death date before birth date",
        ),
        RowCheck(
            "date_death_future",
            "persons",
            "death_date",
            ("death_date",),
            f"death_date > {end}",
            "death_date",
            f"death date after 31 December of the warehouse's last year ({last})",
        ),
        RowCheck(
            "date_registration",
            "persons",
            "nr_registration_year",
            ("birth_date", "nr_registration_year"),
            "nr_registration_year < year(birth_date)",
            "'nr_registration_year=' || nr_registration_year::VARCHAR || ', birth_date=' "
            "|| birth_date::VARCHAR",
            "first registration in the National Register before the year of birth",
        ),
    ]


def _other_row_checks() -> list[RowCheck]:
    span = "'start_date=' || start_date::VARCHAR || ', end_date=' || end_date::VARCHAR"
    return [
        RowCheck(
            "date_spell_order",
            "ss_spells",
            "end_date",
            ("start_date", "end_date"),
            "end_date < start_date",
            span,
            "spell ends before it starts",
        ),
        RowCheck(
            "date_spell_q4",
            "ss_spells",
            "start_date",
            ("year", "start_date", "end_date"),
            "start_date > make_date(year, 12, 31) OR end_date < make_date(year, 10, 1)",
            "'year=' || year::VARCHAR || ', ' || " + span,
            "spell does not overlap Q4 of its year (the table holds spells overlapping Q4)",
        ),
        RowCheck(
            "date_employer_lifetime",
            "employers",
            "closed_year",
            ("founded_year", "closed_year"),
            "closed_year < founded_year",
            "'founded_year=' || founded_year::VARCHAR || ', closed_year=' || closed_year::VARCHAR",
            "employer closed before it was founded",
        ),
    ]


def _after_death(r: Runner, table: str) -> None:
    """Rows of a by-year table in a year after the person's death; for person_year also the age."""
    checks = [
        RowCheck(
            "date_after_death",
            table,
            "year",
            (),
            "year > year(death_date)",
            "'year=' || year::VARCHAR || ', death_date=' || death_date::VARCHAR",
            "row for a year after the person's year of death",
        )
    ]
    if table == "person_year":
        checks.append(
            RowCheck(
                "age_scope",
                table,
                "year",
                (),
                f"year - year(birth_date) NOT BETWEEN {MIN_AGE} AND {MAX_AGE}",
                "'age=' || (year - year(birth_date))::VARCHAR || ', birth_date=' || "
                "birth_date::VARCHAR",
                f"age on 31 December outside the warehouse's scope ({MIN_AGE}-{MAX_AGE})",
            )
        )

    def src() -> str | None:
        child = r.source(table, ["insz", "year"])
        parent = r.source("persons", ["insz", "birth_date", "death_date"])
        if child is None or parent is None:
            return None
        return (
            f"SELECT c._file, c._row, c.year, p.birth_date, p.death_date FROM {child} c "
            f"JOIN {parent} p ON c.insz = p.insz"
        )

    r.joined_checks([table, "persons"], f"date checks of {table}", src, checks)


def _employment_in_lifetime(r: Runner) -> None:
    check = RowCheck(
        "date_employment_lifetime",
        "employments",
        "year",
        (),
        "year < founded_year OR year > closed_year",
        "'year=' || year::VARCHAR || ', rsz_number=' || rsz_number || ', founded_year=' || "
        "founded_year::VARCHAR || ', closed_year=' || coalesce(closed_year::VARCHAR, 'null')",
        "employment in a year outside the employer's years with staff "
        "(employers.founded_year..closed_year)",
    )

    def src() -> str | None:
        child = r.source("employments", ["rsz_number", "year"])
        parent = r.source("employers", ["rsz_number", "founded_year", "closed_year"])
        if child is None or parent is None:
            return None
        return (
            f"SELECT c._file, c._row, c.year, c.rsz_number, p.founded_year, p.closed_year "
            f"FROM {child} c JOIN {parent} p ON c.rsz_number = p.rsz_number"
        )

    r.joined_checks(["employments", "employers"], "employer lifetime check", src, [check])


def date_checks(r: Runner, last_year: int) -> None:
    r.row_checks(_persons_checks(last_year) + _other_row_checks())
    for t in TABLES:
        if t.by_year and "insz" in t.column_names:
            _after_death(r, t.name)
    _employment_in_lifetime(r)
