"""Attacks on minimum, maximum and percentile tables: what two of them say together."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.disclosure.protect import protect
from kluis.disclosure.spec import DimensionSpec, TableSpec


def _table(df: pd.DataFrame, statistic: str, q: float = 0.5) -> pd.DataFrame:
    spec = TableSpec(
        name=statistic,
        dimensions=[DimensionSpec(column="g")],
        person_id="pid",
        response="v",
        statistic=statistic,
        quantile=q,
    )
    return protect(df, spec).public_frame().set_index("g")


def _everybody_in_a_earns_50(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 120
    df = pd.DataFrame(
        {
            "pid": np.arange(n),
            "g": rng.choice(["a", "b", "c"], n),
            "v": rng.normal(100, 20, n).round(),
        }
    )
    df.loc[df.g == "a", "v"] = 50.0
    return df


def test_a_minimum_and_a_maximum_table_do_not_say_that_everybody_has_one_value():
    """Cell a: 38 persons, all with 50. Its minimum and its maximum are each shared by 38
    persons, but published together they say everybody in a has 50 — the mean table hides
    that cell for the same reason, so the order statistics must too."""
    df = _everybody_in_a_earns_50()
    low, high = _table(df, "min"), _table(df, "max")
    assert not (pd.notna(low.loc["a", "min"]) and pd.notna(high.loc["a", "max"]))
    assert pd.isna(_table(df, "quantile", 0.1).loc["a", "quantile"])


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_published_extremes_never_pin_every_person_of_a_cell(seed, levels):
    """Whatever the values (few distinct ones, so cells of one value are common): no cell
    shows a minimum equal to its maximum, and no cell of one value shows a percentile."""
    rng = np.random.default_rng(seed)
    n = 150
    df = pd.DataFrame(
        {
            "pid": np.arange(n),
            "g": rng.choice(list("abcd"), n),
            "v": rng.integers(0, levels, n).astype(float),
        }
    )
    df.loc[df.g == "a", "v"] = 0.0
    low, high = _table(df, "min"), _table(df, "max")
    median = _table(df, "quantile")
    both = pd.notna(low["min"]) & pd.notna(high["max"])
    assert not (both & (low["min"] == high["max"])).any()
    one_value = df.groupby("g")["v"].nunique() == 1
    for g in one_value[one_value].index:
        assert pd.isna(median.loc[g, "quantile"])
