"""Data swapping keeps every stratum's values exactly and changes about the stated share."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.extract.employers.scramble import swap, swap_indices
from kluis.extract.employers.scramble_metrics import (
    cramers_v,
    evaluate_rates,
    linkage_attack,
    marginals,
    report,
)

VARS = ["level", "field"]
STRATA = ["year", "group"]


@st.composite
def records(draw, max_rows: int = 300) -> pa.Table:
    n = draw(st.integers(min_value=0, max_value=max_rows))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    n_years = draw(st.integers(min_value=1, max_value=5))
    n_levels = draw(st.integers(min_value=1, max_value=6))
    rng = np.random.default_rng(seed)
    level = rng.choice([f"L{i}" for i in range(n_levels)], n).astype(object)
    level[rng.random(n) < 0.1] = None  # unknown education exists in the warehouse
    return pa.table(
        {
            "person": np.arange(n),
            "year": rng.integers(2003, 2003 + n_years, n).astype(np.int16),
            "group": rng.choice(["intervention", "control"], n),
            "level": pa.array(level, type=pa.string()),
            "field": rng.choice(["011", "041", "061", "071", "999"], n),
            "wage": rng.gamma(4.0, 9000.0, n),
        }
    )


def _per_stratum(table: pa.Table, var: str) -> Counter:
    rows = zip(*(table.column(c).to_pylist() for c in (*STRATA, var)), strict=True)
    return Counter(rows)


@settings(max_examples=60, deadline=None)
@given(table=records(), rate=st.floats(min_value=0.0, max_value=1.0), seed=st.integers(0, 10**6))
def test_swap_keeps_every_stratum_marginal_exactly(table, rate, seed):
    result = swap(table, VARS, STRATA, rate=rate, seed=seed)
    out = result.table
    for var in VARS:
        assert _per_stratum(out, var) == _per_stratum(table, var)
        assert marginals(out, var) == marginals(table, var)
    # The block moves together: every output (level, field) pair existed in the same stratum.
    pairs_in = Counter(zip(*(table.column(c).to_pylist() for c in (*STRATA, *VARS)), strict=True))
    pairs_out = Counter(zip(*(out.column(c).to_pylist() for c in (*STRATA, *VARS)), strict=True))
    assert pairs_in == pairs_out
    # Unswapped columns are untouched, row order is kept.
    for col in ("person", "year", "group", "wage"):
        assert out.column(col).equals(table.column(col))


@settings(max_examples=60, deadline=None)
@given(table=records(), rate=st.floats(min_value=0.0, max_value=1.0), seed=st.integers(0, 10**6))
def test_stated_share_is_the_share_whose_values_changed(table, rate, seed):
    result = swap(table, VARS, STRATA, rate=rate, seed=seed)
    before = list(zip(*(table.column(c).to_pylist() for c in VARS), strict=True))
    after = list(zip(*(result.table.column(c).to_pylist() for c in VARS), strict=True))
    changed = np.array([b != a for b, a in zip(before, after, strict=True)], dtype=bool)
    assert np.array_equal(result.changed, changed)
    if table.num_rows:
        assert result.share_changed == pytest.approx(changed.mean())
    # A record that changed was selected; a selected record always got another person's values.
    assert not (changed & ~result.selected).any()
    assert (result.donor[result.selected] != np.flatnonzero(result.selected)).all()


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=30),
    rate=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(0, 10**6),
)
def test_donors_are_a_permutation_within_each_stratum(sizes, rate, seed):
    stratum = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(seed)
    stratum = stratum[rng.permutation(len(stratum))]
    donor, selected = swap_indices(stratum, rate, np.random.default_rng(seed))
    assert np.array_equal(np.sort(donor), np.arange(len(stratum)))  # a permutation
    assert (stratum[donor] == stratum).all()  # never crosses a stratum
    assert (donor[~selected] == np.flatnonzero(~selected)).all()  # unselected keep their own
    per_stratum = np.bincount(stratum[selected], minlength=len(sizes))
    assert not (per_stratum == 1).any()  # nobody swaps with themselves


def test_selected_share_follows_the_rate_on_large_strata():
    stratum = np.repeat(np.arange(20), 5_000)
    for rate in (0.05, 0.2, 0.6):
        _, selected = swap_indices(stratum, rate, np.random.default_rng(1))
        assert abs(selected.mean() - rate) < 0.005


def test_distinct_values_make_the_changed_share_equal_the_selected_share():
    n = 10_000
    rng = np.random.default_rng(0)
    table = pa.table({"g": rng.integers(0, 4, n), "v": np.arange(n)})
    result = swap(table, ["v"], ["g"], rate=0.25, seed=5)
    assert np.array_equal(result.changed, result.selected)
    assert abs(result.share_changed - 0.25) < 0.01


def test_same_seed_same_swap_other_seed_other_swap():
    rng = np.random.default_rng(3)
    table = pa.table(
        {
            "year": rng.integers(0, 3, 500),
            "group": rng.integers(0, 2, 500),
            "level": rng.integers(0, 9, 500),
            "field": np.arange(500),
        }
    )
    a = swap(table, VARS, STRATA, rate=0.3, seed=11)
    b = swap(table, VARS, STRATA, rate=0.3, seed=11)
    c = swap(table, VARS, STRATA, rate=0.3, seed=12)
    assert a.table.equals(b.table)
    assert not a.table.equals(c.table)


def test_bad_arguments_are_refused():
    table = pa.table({"year": [1, 2], "level": ["a", "b"]})
    with pytest.raises(KeyError, match="nope"):
        swap(table, ["nope"], ["year"])
    with pytest.raises(ValueError, match="rate"):
        swap(table, ["level"], ["year"], rate=1.5)
    with pytest.raises(ValueError, match="both"):
        swap(table, ["level"], ["level"])


def test_cramers_v_extremes():
    a = np.repeat(np.arange(4), 50)
    assert cramers_v(a, a) == pytest.approx(1.0)
    b = np.tile(np.arange(5), 40)  # every a-value sees every b-value equally often
    assert cramers_v(a, b) == pytest.approx(0.0, abs=1e-12)


def test_linkage_attack_counts_ties_and_own_matches():
    true = pa.table({"x": ["a", "a", "b", "c"], "w": [1.0, 1.0, 5.0, 9.0]})
    # Rows 0 and 1 are identical: each is found with chance 1/2; rows 2 and 3 are unique.
    credit = linkage_attack(true, true, ["x", "w"])
    assert credit.tolist() == [0.5, 0.5, 1.0, 1.0]
    released = pa.table({"x": ["a", "a", "c", "b"], "w": [1.0, 1.0, 5.0, 9.0]})
    credit = linkage_attack(true, released, ["x"])  # rows 2, 3 swapped x: matched to each other
    assert credit.tolist() == [0.5, 0.5, 0.0, 0.0]


def test_report_states_equal_marginals_and_measures_the_trade_off():
    rng = np.random.default_rng(2)
    n = 2_000
    level = rng.integers(0, 6, n)
    table = pa.table(
        {
            "year": rng.integers(2003, 2006, n).astype(np.int16),
            "group": rng.choice(["intervention", "control"], n),
            "level": level.astype(str),
            "field": rng.choice(["011", "041", "061"], n),
            "wage": 20_000 + 8_000 * level + rng.normal(0, 1_000, n),  # wage depends on education
        }
    )
    result = swap(table, VARS, STRATA, rate=0.5, seed=4)
    data = report(table, result, VARS, STRATA, 0.5).to_dict()
    assert data["marginals_equal"] is True
    for var in VARS:
        assert data["marginals"][var]["before"] == data["marginals"][var]["after"]
    wage_row = next(
        r for r in data["correlation"] if r["swapped"] == "level" and r["other"] == "wage"
    )
    assert wage_row["v_after"] < wage_row["v_before"]
    assert data["linkage"]["success_rate"] < data["linkage"]["success_rate_unswapped"]
    grid = evaluate_rates(table, VARS, STRATA, [0.1, 0.5, 0.9], seed=4)
    assert [g["swap_rate"] for g in grid] == [0.1, 0.5, 0.9]
    changed = [g["share_changed"] for g in grid]
    linkage = [g["linkage_success"] for g in grid]
    assert changed == sorted(changed) and linkage == sorted(linkage, reverse=True)
