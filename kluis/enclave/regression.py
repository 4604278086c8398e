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
from kluis.enclave.query import ident
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


def _persons(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    return frame.groupby(by, observed=True, dropna=False)["__pid"].nunique()


def _dominated(frame: pd.DataFrame, f: Formula, groups: list[str], rules: checks.Rules) -> None:
    """OLS: the outcome of the whole model and of each category of a categorical regressor (or
    dummy) passes the p% and (n,k) rules on each person's total, as a mean table's cell must: a
    category's coefficient is, nearly, its mean outcome, so one top earner among ten shows."""
    y = frame.assign(__y=frame[f.response].astype(float).abs())
    for c in [None, *groups]:
        keys = ["__pid"] if c is None else [c, "__pid"]
        per = y.groupby(keys, observed=True)["__y"].sum()
        parts = [("all", per)] if c is None else per.groupby(level=0, observed=True)
        for code, values in parts:
            top = np.sort(values.to_numpy())[::-1]
            stats = {
                "persons": float(len(top)),
                "total": float(top.sum()),
                "top1_p": float(top[0]) if len(top) else 0.0,
                "top2_p": float(top[1]) if len(top) > 1 else 0.0,
                "vmin": None,
                "vmax": None,
            }
            why = checks.one_cell_rules(stats, rules, "magnitude")
            if why and not why.startswith("all contributors"):
                where = "the model" if c is None else f"category {code} of {c}"
                raise ModelRefused(f"the outcome {f.response} in {where} fails the {why}")


def check_model(
    frame: pd.DataFrame, f: Formula, model: str, n_min: int, rules: checks.Rules | None = None
) -> dict:
    """The facts the checks rest on (for the checker), or ModelRefused with the reason. With
    `rules`, an OLS outcome must also pass the dominance rules per category."""
    persons = int(frame["__pid"].nunique())
    if persons < n_min:
        raise ModelRefused(f"{persons} persons: fewer than {n_min}")
    cats = _categorical(frame, f)
    facts: dict = {"persons": persons, "categorical": cats, "categories": {}}
    for c in cats:
        per = _persons(frame, [c])
        facts["categories"][c] = {str(k): int(v) for k, v in per.items()}
        small = per[per < n_min]
        if len(small):
            raise ModelRefused(f"{len(small)} category(ies) of {c} with fewer than {n_min} persons")
    dummies = []
    for c in f.columns[1:]:
        if c in cats:
            continue
        values = frame[c].value_counts()
        if len(values) <= 2:
            dummies.append(c)
        off = int(frame.loc[frame[c] != values.index[0], "__pid"].nunique()) if len(values) else 0
        if 0 < off < n_min:
            raise ModelRefused(
                f"{c} is the same for all but {off} person(s) (fewer than {n_min}): a dummy "
                "for a small group"
            )
    facts["dummies"] = dummies
    for term in f.terms:
        names = [x[2:-1].strip() if x.startswith("C(") else x for x in term]
        both = [x for x in names if x in cats or x in dummies]
        if len(both) > 1 and (_persons(frame, both) < n_min).any():
            raise ModelRefused(
                f"interaction {':'.join(term)}: a combination with fewer than {n_min} persons"
            )
    regressors = f.columns[1:]
    patterns = len(frame[regressors].drop_duplicates()) if regressors else 1
    facts["covariate_patterns"] = patterns
    if model in ("logit", "probit"):
        y = frame[f.response]
        values = set(pd.unique(y.astype(float)))
        if not values <= {0.0, 1.0}:
            raise ModelRefused(f"{model}: the outcome {f.response} must be 0/1")
        per = frame.groupby(f.response)["__pid"].nunique()
        if len(per) < 2 or (per < n_min).any():
            raise ModelRefused(f"{model}: each outcome needs at least {n_min} persons")
        for c in cats + dummies:
            share = frame.groupby(c, observed=True)[f.response].mean()
            if ((share == 0) | (share == 1)).any():
                raise ModelRefused(
                    f"{model}: in a category of {c} every person has the same outcome"
                )
    if rules is not None and model == "ols":
        _dominated(frame, f, cats + dummies, rules)
    return facts


def fit(frame: pd.DataFrame, f: Formula, model: str):
    import statsmodels.formula.api as smf

    build = {"ols": smf.ols, "logit": smf.logit, "probit": smf.probit}[model]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = build(f.text(), frame, eval_env=-1)
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
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return refused(intent.name, "regression", intent.source, f"the model failed: {first}")
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
