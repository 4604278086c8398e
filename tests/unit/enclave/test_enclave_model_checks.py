"""The model checks counted by DuckDB (framesql.py): the facts a checker reads are what a plain
count over the frame gives, panels (a person on several rows) included, and each refusal the
module docstring of regression.py names happens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.enclave.formula import parse_formula
from kluis.enclave.regression import ModelRefused, check_model


def _panel(seed: int, persons: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pid = rng.integers(0, persons, rows)
    return pd.DataFrame(
        {
            "__pid": pid,
            "y": rng.normal(100, 10, rows),
            "grp": pd.array(rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2])),
            "x": rng.integers(0, 4, rows).astype(float),
            "flag": (pid % 3 == 0),
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    persons=st.integers(40, 300),
    rows=st.integers(40, 900),
)
def test_facts_are_plain_counts_of_distinct_persons(seed, persons, rows):
    frame = _panel(seed, persons, rows)
    f = parse_formula("y ~ C(grp) + x + flag")
    try:
        facts = check_model(frame, f, "ols", 3)
    except ModelRefused as exc:  # then a plain count must show why: the first small category
        small = [c for c in ("grp", "flag") if (frame.groupby(c)["__pid"].nunique() < 3).any()]
        assert small and f"of {small[0]} with fewer than 3 persons" in str(exc)
        return
    assert facts["persons"] == frame["__pid"].nunique()
    assert facts["categorical"] == ["grp", "flag"]
    expected = frame.groupby("grp")["__pid"].nunique()
    assert facts["categories"]["grp"] == {k: int(v) for k, v in expected.items()}
    assert facts["categories"]["flag"] == {
        str(k): int(v) for k, v in frame.groupby("flag")["__pid"].nunique().items()
    }
    assert facts["covariate_patterns"] == len(frame[["grp", "x", "flag"]].drop_duplicates())
    assert facts["dummies"] == []  # x has four values


def _people(n: int = 200, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "__pid": np.arange(n),
            "grp": rng.choice(["a", "b"], n),
            "age": rng.integers(18, 65, n).astype(float),
            "job": (np.arange(n) % 2).astype(float),
        }
    )


def test_a_small_category_is_refused_and_named():
    frame = _people()
    frame.loc[:4, "grp"] = "tiny"
    with pytest.raises(ModelRefused, match=r"1 category\(ies\) of grp with fewer than 10"):
        check_model(frame, parse_formula("age ~ C(grp)"), "ols", 10)


def test_too_few_persons_is_refused():
    with pytest.raises(ModelRefused, match="8 persons: fewer than 10"):
        check_model(_people(8), parse_formula("age ~ C(grp)"), "ols", 10)


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_binary_models_need_a_0_1_outcome_on_both_sides_in_every_category(model):
    frame = _people()
    f = parse_formula("job ~ C(grp) + age")
    assert check_model(frame, f, model, 10)["persons"] == 200  # the control
    frame.loc[0, "job"] = 2.0
    with pytest.raises(ModelRefused, match="must be 0/1"):
        check_model(frame, f, model, 10)
    frame["job"] = (frame["__pid"] < 5).astype(float)  # five persons with outcome 1
    with pytest.raises(ModelRefused, match="each outcome needs at least 10"):
        check_model(frame, f, model, 10)
    frame["job"] = ((frame["__pid"] % 2) * (frame["grp"] == "a")).astype(float)
    with pytest.raises(ModelRefused, match="in a category of grp every person has the same"):
        check_model(frame, f, model, 10)
