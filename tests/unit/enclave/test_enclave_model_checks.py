"""The model checks counted by DuckDB (framesql.py) and the fit on categoricals: the facts a
checker reads are what a plain count over the frame gives, panels (a person on several rows)
included; each refusal the module docstring of regression.py names happens; the coefficients
are what statsmodels gives on the raw columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.deliberation.model import OutputRules
from kluis.enclave import checks
from kluis.enclave.formula import parse_formula
from kluis.enclave.regression import ModelRefused, check_model, fit
from kluis.enclave.sqlcheck import QueryRefused


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


@pytest.mark.parametrize(
    ("formula", "model"),
    [
        ("y ~ C(grp) + x", "ols"),
        ("y ~ C(grp):C(band) + x - 1", "ols"),
        ("y ~ C(grp) * x + C(band)", "ols"),
        ("b ~ C(band) + x", "logit"),
        ("b ~ C(grp) + C(band)", "probit"),
    ],
)
def test_fit_on_categoricals_is_statsmodels_on_the_raw_columns(formula, model):
    """fit() hands patsy the enclave's categoricals as they are (fast); the published
    coefficients, their names and standard errors are what statsmodels gives on text columns."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(11)
    n = 3000
    raw = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "b": rng.integers(0, 2, n).astype(float),
            "x": rng.normal(size=n),
            "grp": rng.choice(["b", "a", "c"], n),
            "band": rng.choice(["20-29", "30-39", "40-49", "60+"], n),
        }
    )
    f = parse_formula(formula)
    frame = raw.astype({c: "category" for c in f.categorical})
    res, _ = fit(frame, f, model)
    build = {"ols": smf.ols, "logit": smf.logit, "probit": smf.probit}[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # statsmodels on its own eval_env
        m = build(f.text(), raw, eval_env=-1)
        ref = m.fit() if model == "ols" else m.fit(disp=0)
    assert list(res.params.index) == list(ref.params.index)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-9)


def test_columns_named_like_the_checks_own_names_change_nothing():
    """A researcher's columns called v, n, k, s, share, per or m (names inside the checks'
    SQL) neither crash the checks nor let a dummy for a small group through."""
    rng = np.random.default_rng(2)
    n = 300
    frame = pd.DataFrame(
        {
            "__pid": np.arange(n),
            "k": rng.normal(50, 5, n),
            "v": rng.choice(["x", "y"], n),
            "n": rng.integers(0, 5, n).astype(float),
            "s": rng.normal(size=n),
            "share": (np.arange(n) % 2).astype(float),
            "per": rng.normal(size=n),
            "m": rng.normal(size=n),
        }
    )
    rules = checks.rules_from_deliberation(OutputRules())
    f = parse_formula("k ~ C(v) + n + s + share + per + m")
    facts = check_model(frame, f, "ols", 10, rules)
    assert facts["categories"]["v"] == {
        k: int(c) for k, c in frame.groupby("v")["__pid"].nunique().items()
    }
    assert facts["dummies"] == ["share"]
    assert check_model(frame, parse_formula("share ~ C(v) + n + k"), "logit", 10)["persons"] == n
    frame["n"] = 0.0
    frame.loc[[4, 9], "n"] = 1.0  # n: a dummy for two persons
    with pytest.raises(ModelRefused, match="n is the same for all but 2 person"):
        check_model(frame, f, "ols", 10, rules)


def test_a_column_duckdb_cannot_count_refuses_the_model_with_a_reason():
    frame = _people()
    frame["odd"] = np.full(len(frame), 1 + 2j)  # complex numbers: DuckDB has no such type
    with pytest.raises(QueryRefused, match="could not be counted"):
        check_model(frame, parse_formula("age ~ C(odd)"), "ols", 10)


def test_a_refusal_never_quotes_a_value_of_the_data():
    """A text outcome whose one odd value the researcher chose (a person's wage as text): the
    checks must not fail with a message that quotes it."""
    frame = _people()
    frame["wage_text"] = "0"
    frame.loc[7, "wage_text"] = "secret-4321"
    try:
        check_model(frame, parse_formula("wage_text ~ C(grp)"), "ols", 10, None)
    except (ModelRefused, QueryRefused) as exc:
        assert "secret-4321" not in str(exc)
    rules = checks.rules_from_deliberation(OutputRules())
    try:
        check_model(frame, parse_formula("wage_text ~ C(grp)"), "ols", 10, rules)
    except (ModelRefused, QueryRefused) as exc:
        assert "secret-4321" not in str(exc)
    with pytest.raises(ModelRefused, match="must be 0/1"):
        check_model(frame, parse_formula("wage_text ~ C(grp)"), "logit", 10)


def test_errors_of_the_engine_and_of_statsmodels_are_redacted_of_values():
    """The trusted side's query errors and model failures reach the request: a conversion
    error quotes the value it met (which the researcher can choose); the value is cut out, the
    names of columns stay."""
    import duckdb

    from kluis.enclave.query import redacted

    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as conversion:
        con.execute("SELECT CAST(x AS INTEGER) FROM (SELECT 'secret-4321' AS x)").fetchall()
    assert "secret-4321" in str(conversion.value)  # the control: DuckDB quotes it
    assert "secret-4321" not in redacted(conversion.value)
    assert "Could not convert string '…' to INT32" in redacted(conversion.value)
    with pytest.raises(duckdb.Error) as missing:
        con.execute('SELECT "no_such" FROM (SELECT 1 AS x)').fetchall()
    assert '"no_such"' in redacted(missing.value)
    assert redacted(ValueError("could not convert string to float: 'secret'")).endswith("'…'")
