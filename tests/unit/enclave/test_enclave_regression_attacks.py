"""Attacks on the model checks: a numeric column that is, in effect, a dummy for a tiny group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kluis.deliberation.model import OutputRules
from kluis.enclave import checks
from kluis.enclave.formula import parse_formula
from kluis.enclave.regression import ModelRefused, check_model, fit, linked_population


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


class _Context:
    """What linked_population uses of a run's BuildContext."""

    def __init__(self, tmp_path: Path) -> None:
        self.rules = checks.rules_from_deliberation(OutputRules())
        self.history = checks.RunHistory(tmp_path / "history", tmp_path / "view")


def test_a_model_over_everybody_but_two_after_a_table_over_everybody_is_refused(tmp_path):
    """Differencing: a table of everybody by sex, then a model over everybody but two persons
    (its n, and with a second model its sums of squares, say who was left out and how much)."""
    ctx = _Context(tmp_path)
    frame = _frame()
    spec = checks.TableSpec(
        name="by_sex",
        dimensions=[checks.DimensionSpec(column="sex")],
        person_id="__pid",
        rules=ctx.rules,
    )
    table = ctx.history.protect(checks.protect(frame[["__pid", "sex"]], spec))
    assert table.ok and not table.hidden.any()
    ctx.history.record(table, tmp_path / "req" / "by_sex")
    with pytest.raises(ModelRefused, match="differ by a few"):
        linked_population(ctx, frame.iloc[2:], "all_but_two")
    same = linked_population(ctx, frame, "everybody")  # the same persons: nothing new
    assert same.ok
    ctx.history.record(same, tmp_path / "req" / "everybody")
    with pytest.raises(ModelRefused, match="differ by a few"):  # and against the model itself
        linked_population(ctx, frame.iloc[:-3], "all_but_three")


def test_a_category_dominated_by_one_top_earner_is_refused():
    """wage ~ C(province) + age: province X holds 12 persons, one earning a million. Its
    coefficient is nearly X's mean wage, which the p% rule hides in a mean table."""
    frame = _frame()
    frame["province"] = np.where(frame["__pid"] < 12, "X", np.where(frame["__pid"] % 2, "Y", "Z"))
    rules = checks.rules_from_deliberation(OutputRules())
    f = parse_formula("wage ~ C(province) + age")
    assert check_model(frame, f, "ols", 10, rules)["persons"] == 200  # the control
    frame.loc[3, "wage"] = 1_000_000.0
    res, _ = fit(frame.drop(columns="__pid").astype({"province": "category"}), f, "ols")
    # the coefficient gives the top earner's wage within a few percent
    assert res.params["C(province)[T.Y]"] == pytest.approx(-1_000_000 / 12, rel=0.05)
    with pytest.raises(ModelRefused, match=r"category X of province fails the p% rule"):
        check_model(frame, f, "ols", 10, rules)
