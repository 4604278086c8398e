"""Panel risk on hand-built panels: every yearly table is k-anonymous, yet the persons are
unique over their years; and the attacker's match across years of different lengths."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kluis.risk.measure import measure
from kluis.risk.source import Study, build_records, open_table


def _measure(tmp_path: Path, rows: list[tuple], keys=("key",), k=2) -> dict:
    df = pd.DataFrame(rows, columns=["person", "year", *keys])
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    con = duckdb.connect()
    study = Study(keys=tuple(keys), k=k, person="person", year="year")
    open_table(con, path, "src")
    build_records(con, path, "src", study, "rec")
    return measure(con, study, "rec", estimate="none").body


def test_each_year_safe_but_every_sequence_unique(tmp_path: Path) -> None:
    """Year 1: A, B have x; C, D have y. Year 2: A, C have x; B, D have y. Every value occurs
    twice a year (2-anonymous, no sample unique), but the four sequences xx, xy, yx, yy are
    all different: whoever knows a person's value in both years finds exactly one person."""
    rows = [
        ("A", 2021, "x"),
        ("B", 2021, "x"),
        ("C", 2021, "y"),
        ("D", 2021, "y"),
        ("A", 2022, "x"),
        ("B", 2022, "y"),
        ("C", 2022, "x"),
        ("D", 2022, "y"),
    ]
    body = _measure(tmp_path, rows)
    for year in ("2021", "2022"):
        assert body["per_year"][year]["sample_uniques"] == 0
        assert body["per_year"][year]["k_violations"]["2"] == 0
    assert body["sample_uniques"] == 0
    lon = body["longitudinal"]
    assert lon["persons"] == 4
    assert lon["unique_in_some_year"] == 0
    assert lon["unique_trajectory"] == 4
    assert lon["unique_over_years"] == 4
    assert lon["unique_over_years_only"] == 4
    assert lon["k_violations"]["2"] == 4


def test_three_years_with_two_keys(tmp_path: Path) -> None:
    """Two keys over three years: P1 and P2 move together, P3 and P4 together, so every year and
    every trajectory is shared by a pair: nobody is unique, everybody violates 3-anonymity."""
    rows = []
    for person, seq in {
        "P1": [("20", "m"), ("20", "m"), ("30", "m")],
        "P2": [("20", "m"), ("20", "m"), ("30", "m")],
        "P3": [("20", "f"), ("30", "f"), ("30", "f")],
        "P4": [("20", "f"), ("30", "f"), ("30", "f")],
    }.items():
        for i, (age, sex) in enumerate(seq):
            rows.append((person, 2020 + i, age, sex))
    lon = _measure(tmp_path, rows, keys=("age", "sex"))["longitudinal"]
    assert lon["unique_over_years"] == 0
    assert lon["unique_trajectory"] == 0
    assert lon["k_violations"] == {"2": 0, "3": 4, "5": 4}


def test_attacker_match_counts_persons_seen_in_more_years(tmp_path: Path) -> None:
    """E: x in 2020 and 2021. F: x, x, then z in 2022. G: x in 2020 only.
    Knowing E's two years, F also matches: 2 persons. Knowing G's one year: E, F, G: 3.
    F's three years: only F. Exact trajectories are all different. F is also a sample unique
    in 2022 (the only z)."""
    rows = [
        ("E", 2020, "x"),
        ("E", 2021, "x"),
        ("F", 2020, "x"),
        ("F", 2021, "x"),
        ("F", 2022, "z"),
        ("G", 2020, "x"),
    ]
    body = _measure(tmp_path, rows)
    lon = body["longitudinal"]
    assert lon["persons"] == 3
    assert lon["persons_by_years_present"] == {"1": 1, "2": 1, "3": 1}
    assert lon["unique_trajectory"] == 3
    assert lon["unique_over_years"] == 1
    assert lon["unique_in_some_year"] == 1
    assert lon["unique_over_years_only"] == 0
    assert lon["k_violations"] == {"2": 1, "3": 2, "5": 3}
    assert body["per_year"]["2022"]["sample_uniques"] == 1


def test_missing_values_are_values_in_the_panel(tmp_path: Path) -> None:
    """In the panel, a missing key is compared as released: (x, missing) differs from (x, y)."""
    rows = [("A", 2020, "x"), ("A", 2021, None), ("B", 2020, "x"), ("B", 2021, "y")]
    lon = _measure(tmp_path, rows)["longitudinal"]
    assert lon["unique_trajectory"] == 2


def test_a_person_twice_in_a_year_is_refused(tmp_path: Path) -> None:
    from kluis.errors import BadInput

    rows = [("A", 2020, "x"), ("A", 2020, "y")]
    with pytest.raises(BadInput, match="appears more than once in year 2020"):
        _measure(tmp_path, rows)
