"""ols / logit / probit: fitted by the trusted side, checked as the field does, published as
coefficients and fit statistics only (never residuals or fitted values).

Checks before a model may leave:
- at least the deliberation's minimum of distinct persons, and residual degrees of freedom >= 10;
- not saturated: fewer parameters than distinct covariate patterns (else the fitted values are
  the patterns' means);
- each category of a categorical regressor (C(x), text or true/false columns), and each
  combination in an interaction of categoricals, has at least the minimum of persons;
- a numeric regressor is a dummy in effect when it is constant for all but a few persons (a
  0/1 column for a tiny group: `y ~ tiny` publishes that group's mean as intercept + slope):
  the persons off its most common value must be none or at least the minimum; a numeric
  column of two values counts as a category in the interaction check and the logit check;
- logit/probit: a 0/1 outcome with at least the minimum of persons on each side, and no category
  where every person has the same outcome (that coefficient would say so).
- its persons do not differ by a few from a population already published (earlier releases and
  this run's earlier outputs): two models, or a model and a table, over everybody and everybody
  but one person give that person away. The model's persons are audited as a one-cell table
  against the history, and recorded with the model (the release adds the record).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from kluis.enclave import checks
from kluis.enclave.formula import Formula, FormulaError, parse_formula
from kluis.enclave.framesql import FrameSQL
from kluis.enclave.intents import RegressionIntent
from kluis.enclave.outputs import (
    INTERNAL,
    OUTPUTS,
    BuildContext,
    finish,
    foreign_constants,
    identity_of,
    refused,
)
from kluis.enclave.query import ident, redacted
from kluis.enclave.request import Output
from kluis.enclave.sqlcheck import QueryRefused, check_rowwise, refuse_keyed
from kluis.errors import KluisError, Refused

MIN_RESIDUAL_DF = 10


class ModelRefused(Refused):
    """A model whose results may not leave."""


def _categorical(frame: pd.DataFrame, f: Formula) -> list[str]:
    cols = f.columns[1:]
    return [
        c
        for c in cols
        if c in f.categorical
        or frame[c].dtype == bool
        or not pd.api.types.is_numeric_dtype(frame[c])
    ]


def _dominated(q: FrameSQL, f: Formula, groups: list[str], rules: checks.Rules) -> None:
    """OLS: the outcome of the whole model and of each category of a categorical regressor (or
    dummy) passes the p% and (n,k) rules on each person's total, as a mean table's cell must: a
    category's coefficient is, nearly, its mean outcome, so one top earner among ten shows."""
    y = f"abs(TRY_CAST({ident(f.response)} AS DOUBLE))"  # no error quoting a value
    for c in [None, *groups]:
        key = "'all'" if c is None else ident(c)
        parts = q.rows(
            f"WITH per AS (SELECT {key} AS k, __pid, sum({y}) AS s FROM m "
            f"WHERE {key} IS NOT NULL GROUP BY 1, 2) "
            "SELECT k, count(*), sum(s), max(s, 2) FROM per GROUP BY k ORDER BY k"
        )
        for code, persons, total, top in parts:
            stats = {
                "persons": float(persons),
                "total": float(total),
                "top1_p": float(top[0]) if len(top) else 0.0,
                "top2_p": float(top[1]) if len(top) > 1 else 0.0,
                "vmin": None,
                "vmax": None,
            }
            why = checks.one_cell_rules(stats, rules, "magnitude")
            if why and not why.startswith("all contributors"):
                where = "the model" if c is None else f"category {code} of {c}"
                raise ModelRefused(f"the outcome {f.response} in {where} fails the {why}")


def _categories(q: FrameSQL, cats: list[str], n_min: int) -> dict:
    out = {}
    for c in cats:
        per = q.persons_by([c])
        out[c] = {str(k[0]): n for k, n in per}
        small = [n for _, n in per if n < n_min]
        if small:
            raise ModelRefused(f"{len(small)} category(ies) of {c} with fewer than {n_min} persons")
    return out


def _dummies(q: FrameSQL, f: Formula, cats: list[str], n_min: int) -> list[str]:
    """Numeric regressors of at most two values, after refusing one that is the same (its most
    common value by rows; ties by the smaller value) for all but a few persons."""
    dummies = []
    for c in f.columns[1:]:
        if c in cats:
            continue
        col = ident(c)
        top = q.rows(
            f"SELECT {col}, count(*) FROM m WHERE {col} IS NOT NULL GROUP BY 1 "
            "ORDER BY 2 DESC, 1 LIMIT 1"
        )
        if q.one(f"SELECT count(DISTINCT {col}) FROM m") <= 2:
            dummies.append(c)
        off = (
            q.one(
                f"SELECT count(DISTINCT __pid) FROM m WHERE {col} IS DISTINCT FROM ?", [top[0][0]]
            )
            if top
            else 0
        )
        if 0 < off < n_min:
            raise ModelRefused(
                f"{c} is the same for all but {off} person(s) (fewer than {n_min}): a dummy "
                "for a small group"
            )
    return dummies


def _binary(q: FrameSQL, f: Formula, model: str, groups: list[str], n_min: int) -> None:
    """logit/probit: a 0/1 outcome, enough persons on each side, no category all one way."""
    y = f"TRY_CAST({ident(f.response)} AS DOUBLE)"
    if q.one(f"SELECT count(*) FROM m WHERE {y} IS NULL OR {y} NOT IN (0, 1)"):
        raise ModelRefused(f"{model}: the outcome {f.response} must be 0/1")
    per = q.persons_by([f.response])
    if len(per) < 2 or any(n < n_min for _, n in per):
        raise ModelRefused(f"{model}: each outcome needs at least {n_min} persons")
    for c in groups:
        col = ident(c)
        same = q.one(
            f"SELECT count(*) FROM (SELECT avg({y}) AS share FROM m WHERE {col} IS NOT NULL "
            "GROUP BY " + col + ") WHERE share IN (0, 1)"
        )
        if same:
            raise ModelRefused(f"{model}: in a category of {c} every person has the same outcome")


def check_model(
    frame: pd.DataFrame, f: Formula, model: str, n_min: int, rules: checks.Rules | None = None
) -> dict:
    """The facts the checks rest on (for the checker), or ModelRefused with the reason. With
    `rules`, an OLS outcome must also pass the dominance rules per category. Counted by DuckDB
    over the frame (framesql.py)."""
    with FrameSQL(frame) as q:
        persons = int(q.one("SELECT count(DISTINCT __pid) FROM m"))
        if persons < n_min:
            raise ModelRefused(f"{persons} persons: fewer than {n_min}")
        cats = _categorical(frame, f)
        facts: dict = {"persons": persons, "categorical": cats}
        facts["categories"] = _categories(q, cats, n_min)
        dummies = _dummies(q, f, cats, n_min)
        facts["dummies"] = dummies
        for term in f.terms:
            names = [x[2:-1].strip() if x.startswith("C(") else x for x in term]
            both = [x for x in names if x in cats or x in dummies]
            if len(both) > 1 and any(n < n_min for _, n in q.persons_by(both)):
                raise ModelRefused(
                    f"interaction {':'.join(term)}: a combination with fewer than {n_min} persons"
                )
        regressors = ", ".join(ident(c) for c in f.columns[1:])
        facts["covariate_patterns"] = (
            int(q.one(f"SELECT count(*) FROM (SELECT DISTINCT {regressors} FROM m)"))
            if regressors
            else 1
        )
        if model in ("logit", "probit"):
            _binary(q, f, model, cats + dummies, n_min)
        if rules is not None and model == "ols":
            _dominated(q, f, cats + dummies, rules)
    return facts


def _as_categorical(data):
    """C(x) of the formula: a column the enclave already made a pandas categorical is handed
    to patsy as it is, and patsy reads its codes; patsy's own C() makes it look at every value
    in Python (31 of 45 s for the 26/104 wage model at national scale). The same levels (the
    categories, sorted) and the same names (the factor is still called `C(x)`)."""
    import patsy

    if isinstance(getattr(data, "dtype", None), pd.CategoricalDtype):
        return data
    return patsy.C(data)


def fit(frame: pd.DataFrame, f: Formula, model: str):
    import statsmodels.formula.api as smf

    build = {"ols": smf.ols, "logit": smf.logit, "probit": smf.probit}[model]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = build(f.text(), frame, eval_env={"C": _as_categorical})
        res = m.fit() if model == "ols" else m.fit(disp=0)
    return res, [str(w.message) for w in caught]


def _tables(res, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    ci = res.conf_int()
    coef = pd.DataFrame(
        {
            "term": res.params.index,
            "coef": res.params.to_numpy(),
            "std_err": res.bse.to_numpy(),
            "t" if model == "ols" else "z": res.tvalues.to_numpy(),
            "p_value": res.pvalues.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
        }
    )
    fit_stats = {
        "nobs": res.nobs,
        "df_model": res.df_model,
        "df_resid": res.df_resid,
        "aic": res.aic,
        "bic": res.bic,
        "log_likelihood": res.llf,
    }
    if model == "ols":
        fit_stats |= {
            "r_squared": res.rsquared,
            "adj_r_squared": res.rsquared_adj,
            "f_statistic": res.fvalue,
            "f_p_value": res.f_pvalue,
        }
    else:
        fit_stats |= {"pseudo_r_squared": res.prsquared, "llr_p_value": res.llr_pvalue}
    fit_frame = pd.DataFrame({"statistic": list(fit_stats), "value": list(fit_stats.values())})
    return coef, fit_frame


def linked_population(ctx: BuildContext, frame: pd.DataFrame, name: str):
    """The model's persons as a one-cell count table protected against the history and this
    run's earlier outputs, or ModelRefused when they would reveal persons (differencing)."""
    rows = pd.DataFrame({"__pid": pd.unique(frame["__pid"])})
    rows["__all"] = "all"
    spec = checks.TableSpec(
        name=f"{name}.persons",
        population=f"persons in the model {name}",
        dimensions=[checks.DimensionSpec(column="__all")],
        person_id="__pid",
        rules=ctx.rules,
    )
    pt = ctx.history.protect(checks.protect(rows, spec))
    if pt.hidden.any() or not pt.ok:
        raise ModelRefused(
            "its persons differ by a few from a population already published (earlier releases "
            "or outputs of this run): with them it would reveal persons"
        )
    return pt


def build_regression(ctx: BuildContext, intent: RegressionIntent) -> Output:
    n_min = ctx.rules.min_frequency
    watch = ctx.stopwatch(intent.name)
    try:
        f = parse_formula(intent.formula)
        if not f.terms:
            raise ModelRefused("a model without regressors is a mean: ask pivot_table for it")
        inner = check_rowwise(intent.sql, ctx.catalog)
        refuse_keyed(inner, {c: c for c in f.columns})
        who = identity_of(inner, ctx.catalog)
        if who.unit != "person":
            raise QueryRefused("models are fitted on person tables")
        strange = foreign_constants(ctx, inner)
        cols = [f"src.{ident(c)} AS {ident(c)}" for c in f.columns]
        keep = " AND ".join(f"src.{ident(c)} IS NOT NULL" for c in f.columns)
        sql = f"SELECT {', '.join(who.select() + cols)} FROM ({intent.sql}) AS src WHERE {keep}"
        check_rowwise(sql, ctx.catalog)
        frame = ctx.executor.arrow(sql).to_pandas()
        watch.lap("query")
        facts = check_model(frame, f, intent.model, n_min, ctx.rules)
        watch.lap("checks")
        for c in facts["categorical"]:  # patsy looks at each value of a text column otherwise
            frame[c] = frame[c].astype("category")
        res, notes = fit(frame.drop(columns="__pid"), f, intent.model)
        k = len(res.params)
        if k >= facts["covariate_patterns"]:
            raise ModelRefused(
                f"saturated: {k} parameters for {facts['covariate_patterns']} covariate patterns"
            )
        if res.df_resid < MIN_RESIDUAL_DF:
            raise ModelRefused(f"{res.df_resid:g} residual degrees of freedom; at least 10")
        if not np.all(np.isfinite(res.bse)):
            raise ModelRefused("some standard errors are not finite (separation or collinearity)")
        coef, fit_frame = _tables(res, intent.model)
        watch.lap("fit")
        persons = linked_population(ctx, frame, intent.name)
        watch.lap("history")
    except (KluisError, FormulaError) as exc:
        return refused(intent.name, "regression", intent.source, str(exc))
    except (ValueError, np.linalg.LinAlgError) as exc:  # statsmodels on degenerate data
        return refused(
            intent.name, "regression", intent.source, f"the model failed: {redacted(exc)}"
        )
    out_coef = ctx.path(OUTPUTS, f"{intent.name}.csv")
    out_fit = ctx.path(OUTPUTS, f"{intent.name}.fit.csv")
    coef.to_csv(out_coef, index=False, float_format="%.10g", lineterminator="\n")
    fit_frame.to_csv(out_fit, index=False, float_format="%.10g", lineterminator="\n")
    checks_file = ctx.path(INTERNAL, f"{intent.name}.checks.json")
    facts |= {"formula": f.text(), "model": intent.model, "warnings": notes}
    checks_file.write_text(json.dumps(facts, indent=1, default=str) + "\n", encoding="utf-8")
    query = ctx.path(INTERNAL, f"{intent.name}.query.sql")
    query.write_text(sql + "\n", encoding="utf-8")
    status, reason = (
        "safe",
        (
            f"{facts['persons']} persons, {res.df_resid:g} residual df, every category with at "
            f"least {n_min} persons; coefficients and fit statistics only"
        ),
    )
    if strange:
        status = "review"
        reason += f"; constant(s) not in the project's code: {', '.join(strange)}"
    record = ctx.history.record(persons, ctx.request_dir / INTERNAL / "history" / intent.name)
    out = Output(
        name=intent.name,
        kind="regression",
        status=status,
        reason=reason,
        source=intent.source,
        files={
            "output": ctx.rel(out_coef),
            "fit": ctx.rel(out_fit),
            "checks": ctx.rel(checks_file),
            "query": ctx.rel(query),
            "history": ctx.rel(record),
        },
    )
    return finish(ctx, out)
