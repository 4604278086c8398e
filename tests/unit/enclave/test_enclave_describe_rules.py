"""Attacks on describe()'s statistics, each one cell over the whole query: what a published
minimum, maximum or quartile says about single persons."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.deliberation.model import OutputRules
from kluis.enclave import checks
from kluis.enclave import describe as d

RULES = checks.rules_from_deliberation(OutputRules())


def _shown(frame: pd.DataFrame) -> dict[str, float]:
    """The statistics describe() would publish for column v of `frame` (__pid, v)."""
    con = duckdb.connect()
    con.register("data", frame)
    stats = d._column_stats(con, "v")
    con.close()
    return {
        s: stats[s] for s in d.STATISTICS if stats[s] is not None and not d._why(stats, RULES, s)
    }


def test_everybody_with_the_same_value_shows_no_statistic():
    """12 persons, all 7: a minimum and maximum of 7 (each shared by 12 persons) say that
    everybody has 7, as the mean would (which the rules already hid)."""
    frame = pd.DataFrame({"__pid": range(12), "v": [7.0] * 12})
    assert _shown(frame) == {}


def test_a_person_with_many_rows_is_not_the_median():
    """One person with 30 rows at the lowest value and 14 others with one row each: the median
    of the rows is that person's value, the minimum the rules hide."""
    frame = pd.DataFrame(
        {"__pid": [0] * 30 + list(range(1, 15)), "v": [1.0] * 30 + list(np.arange(10.0, 24.0))}
    )
    shown = _shown(frame)
    assert "min" not in shown
    assert "median" not in shown
    assert 1.0 not in shown.values()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 25), st.integers(0, 6)), min_size=1, max_size=80))
def test_a_published_order_statistic_is_never_a_small_groups_value(rows):
    """Whatever the rows: a published minimum or maximum is held by >= 10 persons, a published
    quartile has ceil(10/2) persons at or below it and at or above it, and nothing is shown
    when everybody has the same value."""
    frame = pd.DataFrame(rows, columns=["__pid", "v"]).astype({"v": float})
    shown = _shown(frame)
    per = frame.groupby("__pid")["v"]
    side = math.ceil(RULES.min_frequency / 2)
    if frame["v"].nunique() == 1 and frame["__pid"].nunique() > 1:
        assert shown == {}
    for s, value in shown.items():
        if s in ("min", "max"):
            assert int((per.apply(lambda v, x=value: (v == x).any())).sum()) >= 10
        if s in ("p25", "median", "p75"):
            assert frame.loc[frame["v"] <= value, "__pid"].nunique() >= side
            assert frame.loc[frame["v"] >= value, "__pid"].nunique() >= side
