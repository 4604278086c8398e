"""Attacks on the model checks: a numeric column that is, in effect, a dummy for a tiny group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kluis.enclave.formula import parse_formula
from kluis.enclave.regression import ModelRefused, check_model, fit


def _frame(seed: int = 3, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "__pid": np.arange(n),
            "wage": rng.normal(2500, 400, n),
            "age": rng.integers(18, 65, n).astype(float),
            "sex": rng.choice(["1", "2"], n),
        }
    )


def test_a_numeric_dummy_for_one_person_is_refused():
    """`wage ~ tiny` with tiny = 1 for one person: intercept + slope is that person's wage."""
    frame = _frame()
    frame["tiny"] = (frame["__pid"] == 17).astype(float)
    f = parse_formula("wage ~ tiny")
    res, _ = fit(frame.drop(columns="__pid"), f, "ols")
    assert res.params["Intercept"] + res.params["tiny"] == pytest.approx(frame.wage[17])
    with pytest.raises(ModelRefused, match="small group"):
        check_model(frame, f, "ols", 10)


def test_a_regressor_constant_but_for_a_few_persons_is_refused():
    """Zero for everybody but three persons (with different values): a dummy in effect."""
    frame = _frame()
    frame["bonus"] = 0.0
    frame.loc[[3, 40, 99], "bonus"] = [1.0, 2.0, 5.0]
    with pytest.raises(ModelRefused, match="all but 3 person"):
        check_model(frame, parse_formula("wage ~ age + bonus"), "ols", 10)


def test_two_numeric_dummies_whose_interaction_holds_few_persons_are_refused():
    frame = _frame()
    frame["d1"] = (frame["__pid"] < 60).astype(float)
    frame["d2"] = ((frame["__pid"] >= 56) & (frame["__pid"] < 120)).astype(float)  # 4 in both
    with pytest.raises(ModelRefused, match="interaction"):
        check_model(frame, parse_formula("wage ~ d1 * d2"), "ols", 10)
    frame["d3"] = (frame["__pid"] < 12).astype(float)
    frame.loc[frame["__pid"] < 12, "sex"] = "1"
    frame.loc[11, "sex"] = "2"  # the only woman with d3 = 1
    with pytest.raises(ModelRefused, match="interaction"):
        check_model(frame, parse_formula("wage ~ d3:C(sex) + age"), "ols", 10)


def test_ordinary_numeric_regressors_pass():
    frame = _frame()
    frame["d1"] = (frame["__pid"] < 60).astype(float)
    facts = check_model(frame, parse_formula("wage ~ age + d1 + C(sex)"), "ols", 10)
    assert facts["dummies"] == ["d1"]
