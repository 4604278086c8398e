"""l-diversity as sdcMicro's ldiversity: its published test cases and groups worked by hand."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from kluis.risk.ldiversity import group_ldiversity, summary


def _groups(df: pd.DataFrame, keys: list[str], sensitive: str) -> pd.DataFrame:
    con = duckdb.connect()
    frame = pd.DataFrame({f"k{i}": df[k] for i, k in enumerate(keys)})
    frame["s"] = 0
    frame["sens"] = df[sensitive]
    con.register("frame", frame)
    con.execute("CREATE TABLE rec AS SELECT * FROM frame")
    group_ldiversity(con, "rec", len(keys), "g")
    out = con.execute("SELECT * FROM g").df()
    return out, con


def _per_record(df, keys, sensitive, column):
    groups, _ = _groups(df, keys, sensitive)
    merged = df.merge(
        groups.rename(columns={f"k{i}": k for i, k in enumerate(keys)}), on=keys, how="left"
    )
    return merged[column].tolist()


def test_sdcmicro_distinct_l_with_missing_keys() -> None:
    """tests/testthat/test_ldiversity.R: missing key values group together here."""
    df = pd.DataFrame(
        {
            "sex": ["female", "female", "female", "male", "male", "female", "female"],
            "occupation": [None, None, None, "teacher", "teacher", "nurse", "nurse"],
            "ethnicity": ["other", "other", "other", "other", "other", "majority", "majority"],
            "sensitive": [1, 0, 2, 1, 0, 0, 1],
        }
    )
    got = _per_record(df, ["sex", "occupation", "ethnicity"], "sensitive", "distinct_l")
    assert got == [3, 3, 3, 2, 2, 2, 2]


def test_sdcmicro_several_sensitive_variables() -> None:
    df = pd.DataFrame({"key": [1, 1, 1], "sens1": ["A", "B", "A"], "sens2": ["X", "Y", "Z"]})
    assert _per_record(df, ["key"], "sens1", "distinct_l") == [2, 2, 2]
    assert _per_record(df, ["key"], "sens2", "distinct_l") == [3, 3, 3]


def test_hand_worked_groups() -> None:
    """Group 1: a a a b -> distinct 2; entropy exp(-(.75 ln .75 + .25 ln .25)) = 1.7547654;
    recursive (c = 2): r1 = 3 is not < 2 x 1, so l = 1.
    Group 2: a a b b c -> distinct 3; entropy exp(-(2 x .4 ln .4 + .2 ln .2)) = 2.8717459;
    recursive: 2 < 2 x (2 + 1) but not 2 < 2 x 1, so l = 2.
    Group 3: a b (missing) -> distinct 2 + 1 for the missing value = 3; entropy over three
    categories of 1/3 = 3; recursive over the non-missing values: 1 < 2 x 1, l = 2.
    Group 4: only missing values -> distinct 0, entropy 1, recursive 0."""
    df = pd.DataFrame(
        {
            "g": [1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4],
            "v": ["a", "a", "a", "b", "a", "a", "b", "b", "c", "a", "b", None, None, None],
        }
    )
    groups, con = _groups(df, ["g"], "v")
    groups = groups.sort_values("k0").reset_index(drop=True)
    assert groups["size"].tolist() == [4, 5, 3, 2]
    assert groups["distinct_l"].tolist() == [2, 3, 3, 0]
    assert groups["entropy_l"].tolist() == pytest.approx(
        [1.7547653506033232, 2.8717458874925876, 3.0, 1.0]
    )
    assert groups["recursive_l"].tolist() == [1, 2, 2, 0]
    s = summary(con, "g")[0]
    assert s["records"] == 14
    assert s["min_distinct_l"] == 0
    assert s["records_with_distinct_l_1"] == 2  # the all-missing group: no value, no choice
    assert s["records_with_distinct_l_at_most_2"] == 6
