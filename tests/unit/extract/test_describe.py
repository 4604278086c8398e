"""The codebook says what one row of each table is and stays compact: one line per column,
each value list once (with the SPSS/Stata codes), whatever the number of columns using it."""

from __future__ import annotations

import re

import pytest

from kluis import codes as code_lists
from kluis.deliberation.coarsening import CATALOGUE
from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery.describe import codebook
from kluis.extract.recode import code_list_categories, describe

INFO = {
    "deliberation": "26/104",
    "title": "T",
    "recipient": "R",
    "phase": "development",
    "phase_description": "sample",
    "retention": "2032-12-31",
    "warehouse_id": "wh",
    "key_fingerprint": "k",
}
LEVELS = code_list_categories("isced_level")
AGE = describe(CATALOGUE["age_5y"], "int16")[1]


def _person_table(name: str, suffix: str) -> OutputTable:
    cols = (
        ColumnMeta("person_id", "pseudonym", "Sequence number", source="pseudonym.person"),
        ColumnMeta("year", "year", "Reference year"),
        ColumnMeta("age", "category", "Age", AGE, "derived.age", "age_5y"),
        ColumnMeta("deceased", "boolean", "Died", source="derived.deceased"),
        ColumnMeta("education_level", "category", "Level", LEVELS, "person_year.x", "none"),
        ColumnMeta(f"education_level{suffix}", "category", "Level", LEVELS, "person_year.x"),
        ColumnMeta("months", "integer", "Months", source="person_year.m", note="empty in 2003"),
    )
    return OutputTable(name, cols, {}, ("person_id",), "a panel", unit="person-year")


def _rows(*tables: OutputTable) -> dict:
    return {t.name: {2024: 120, 2025: 130} for t in tables}


def test_person_year_codebook_says_persons_and_their_rows() -> None:
    t = _person_table("table1_next", "_next")
    text = codebook(INFO, [t], _rows(t), ("parquet", "sav"))
    assert "Persons are identified only by a meaningless sequence number (`person_id`)" in text
    assert "**One row is one person in one year T (the situation on 31 December of T).**" in text
    assert "| `table1_next` | one person in one year T" in text
    assert "No row of this extract describes a person" not in text
    assert "Rows per year: 2024: 120, 2025: 130" in text


def test_every_column_is_one_line_with_label_type_coarsening_and_values() -> None:
    t = _person_table("table1_next", "_next")
    text = codebook(INFO, [t], _rows(t), ("parquet",))
    lines = {ln.split(" | ")[0][2:]: ln for ln in text.splitlines() if ln.startswith("| ")}
    assert lines["age"] == (
        "| age | Age | category | derived.age | age_5y | list `age_5y`: 10 values "
        "(15-19, 20-24 … 60-64) |  |"
    )
    assert "| list `isced_level`: 16 values (000, 100 … 999) |" in lines["education_level_next"]
    assert "| no / yes (0 / 1 in SPSS, Stata) |" in lines["deceased"]
    assert lines["months"].endswith("| empty in 2003 |")
    for c in t.columns:
        assert c.name in lines and c.label in lines[c.name]


def test_each_value_list_is_given_once_with_its_codes() -> None:
    """Two tables, each with the level at T and at T±1: one isced_level list, not four."""
    a, b = _person_table("table1_next", "_next"), _person_table("table2_previous", "_prev")
    text = codebook(INFO, [a, b], _rows(a, b), ("parquet",))
    assert text.count("### `isced_level`") == 1
    assert text.count("### `age_5y`") == 1
    assert len(re.findall(r"^### ", text, flags=re.M)) == 2
    n = len(code_lists.load("isced_level").rows)
    assert text.count(f"| {n} | 999 | Unknown |") == 1
    assert (
        "Used by `education_level`, `education_level_next` (table `table1_next`); "
        "`education_level`, `education_level_prev` (table `table2_previous`)."
    ) in text


def test_employer_aggregates_are_not_described_as_persons() -> None:
    emp = ColumnMeta("employer_id", "pseudonym", "Employer", source="pseudonym.employer")
    year = ColumnMeta("year", "year", "Reference year")
    cells = OutputTable(
        "employer_education",
        (
            emp,
            year,
            ColumnMeta("education_level", "category", "Level", LEVELS, "person_year.x", "none"),
            ColumnMeta("n_employees", "integer", "Employees", source="count of employees"),
        ),
        {},
        ("employer_id", "year", "education_level"),
        unit="employer-year-cell",
    )
    employers = OutputTable(
        "employer_education_employers",
        (emp, year),
        {},
        ("employer_id", "year"),
        unit="employer-year",
    )
    text = codebook(INFO, [cells, employers], _rows(cells, employers), ("parquet",))
    assert "Persons are" not in text
    assert text.count("Employers are identified only by a meaningless sequence number") == 1
    assert "No row of this extract describes a person" in text
    assert "**One row is one employer, one year and one non-empty cell" in text
    assert "**One row is one employer in one year" in text
    assert "| `employer_education` | one employer, one year and one non-empty cell" in text


def test_a_table_without_a_unit_is_described_by_its_key() -> None:
    t = OutputTable("t", (ColumnMeta("k", "integer", "K"),), {}, ("k",))
    text = codebook(INFO, [t], _rows(t), ("parquet",))
    assert "**One row is one combination of `k`.**" in text


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit 'person'"):
        OutputTable("t", (), {}, (), unit="person")
