"""Plausible dates: births, deaths, spells and employer lifetimes that can actually have happened,
and ages within the warehouse's population scope (13-66 on 31 December)."""

from __future__ import annotations

from kluis.schema import table as schema_table
from kluis.warehouse.checks.consistency import consistency_checks
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


def link_checks(table: str, ref_table: str) -> tuple[list[str], list[str], list[RowCheck]]:
    """Checks over a row joined to the row it references: (columns needed from the referencing
    table, columns needed from the referenced one, checks)."""
    if ref_table == "persons" and "year" in schema_table(table).column_names:
        if table == "person_year":  # a row is the situation on 31 December: alive then
            after_death = RowCheck(
                "date_after_death",
                table,
                "year",
                (),
                "death_date < make_date(year, 12, 31)",
                "'year=' || year::VARCHAR || ', death_date=' || death_date::VARCHAR",
                "person_year row for a year on whose 31 December the person was no longer alive",
            )
        else:
            after_death = RowCheck(
                "date_after_death",
                table,
                "year",
                (),
                "year > year(death_date)",
                "'year=' || year::VARCHAR || ', death_date=' || death_date::VARCHAR",
                "row for a year after the person's year of death",
            )
        checks = [after_death]
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
        return ["year"], ["birth_date", "death_date"], checks
    if table == "employments" and ref_table == "employers":
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
        return ["year"], ["founded_year", "closed_year"], [check]
    return [], [], []


def date_checks(r: Runner, last_year: int) -> None:
    """The plausibility and consistency checks within one table (the cross-table ones run with
    the links)."""
    r.row_checks(_persons_checks(last_year) + _other_row_checks() + consistency_checks())
