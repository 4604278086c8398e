"""describe(): summary statistics of numeric columns, each published only where the rules allow.

Per column the trusted side computes, over the query's rows, the distinct persons, the mean and
standard deviation (a magnitude: frequency and dominance rules on each person's total), the
minimum and maximum (one person's value unless enough persons share it) and the quartiles (the
engine's percentile rule, counted in distinct persons on each side of the value: the quartiles
are over rows, so one person with many rows could otherwise *be* the median). When every person
has the same value, every statistic is that value, so none is shown (group disclosure). A
statistic that fails is left empty, with its reason for the checker. No count is published:
counts leave through crosstab, where they are audited against every other output.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd

from kluis.enclave import checks
from kluis.enclave.intents import DescribeIntent
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
from kluis.errors import KluisError

STATISTICS = ("mean", "std", "min", "p25", "median", "p75", "max")
_QUANTILES = {"p25": 0.25, "median": 0.5, "p75": 0.75}


def _column_stats(con: duckdb.DuckDBPyConnection, col: str) -> dict[str, float]:
    c = ident(col)
    row = con.execute(
        f"""
        WITH pp AS (SELECT __pid, sum({c}) AS s FROM data WHERE {c} IS NOT NULL GROUP BY __pid),
             mm AS (SELECT min({c}) AS lo, max({c}) AS hi FROM data)
        SELECT (SELECT count(*) FROM pp) AS persons,
               (SELECT sum(s) FROM pp) AS total,
               (SELECT max(abs(s), 2) FROM pp) AS tops,
               avg({c}), stddev_samp({c}), min({c}), max({c}),
               quantile_cont({c}, [0.25, 0.5, 0.75]),
               (SELECT count(DISTINCT __pid) FROM data, mm WHERE {c} = mm.lo),
               (SELECT count(DISTINCT __pid) FROM data, mm WHERE {c} = mm.hi)
        FROM data
        """
    ).fetchall()[0]
    persons, total, tops, mean, std, lo, hi, qs, lo_ties, hi_ties = row
    tops = list(tops or []) + [0.0, 0.0]
    qs = list(qs or [None, None, None])
    sides = _persons_beside(con, c, qs)
    return {
        "persons": float(persons or 0),
        "total": float(total or 0.0),
        "top1_p": float(tops[0]),
        "top2_p": float(tops[1]),
        "vmin": lo,
        "vmax": hi,
        "ext_min_ties": float(lo_ties or 0),
        "ext_max_ties": float(hi_ties or 0),
        "mean": mean,
        "std": std,
        "min": lo,
        "max": hi,
        "p25": qs[0],
        "median": qs[1],
        "p75": qs[2],
        "sides": sides,
    }


def _persons_beside(con: duckdb.DuckDBPyConnection, c: str, qs: list) -> dict[str, float]:
    """Per quartile, the fewest distinct persons on one side of it (value <= q, value >= q):
    a quartile with fewer than ceil(n/2) persons at or below it is, in effect, their value."""
    out = {}
    for name, q in zip(_QUANTILES, qs, strict=True):
        if q is None:
            continue
        below, above = con.execute(
            f"SELECT count(DISTINCT __pid) FILTER ({c} <= $q), "
            f"count(DISTINCT __pid) FILTER ({c} >= $q) FROM data",
            {"q": float(q)},
        ).fetchall()[0]
        out[name] = float(min(below or 0, above or 0))
    return out


def _why(stats: dict[str, float], rules: checks.Rules, statistic: str) -> str:
    base = {k: stats[k] for k in ("persons", "total", "top1_p", "top2_p", "vmin", "vmax")}
    base |= {k: stats[k] for k in ("ext_min_ties", "ext_max_ties")}
    if statistic in ("mean", "std"):
        return checks.one_cell_rules(base, rules, "magnitude")
    if stats["persons"] > 1 and stats["vmin"] == stats["vmax"]:
        # min = max = every quartile = everybody's value: as the mean, none is shown
        return "all contributors have the same value"
    if statistic in ("min", "max"):
        return checks.one_cell_rules(base, rules, statistic)
    why = checks.one_cell_rules(base, rules, f"q{_QUANTILES[statistic]}")
    side = math.ceil(rules.min_frequency / 2)
    if not why and stats["sides"].get(statistic, 0.0) < side:
        why = f"fewer than {side} persons on one side of the percentile"
    return why


def _linked(
    ctx: BuildContext, con: duckdb.DuckDBPyConnection, name: str, col: str, record: Path
) -> str:
    """Why the column's mean (and with it its standard deviation) must stay hidden because of
    the history and this run's earlier tables ('' when it may be shown): a mean over persons
    who differ by a few from a population already published gives their values away. The mean
    is audited as a one-cell table; when shown, its release record is written to `record` (the
    release adds it to the deliberation's history) and later tables of the run are audited
    against it."""
    c = ident(col)
    rows = con.sql(
        f"SELECT __pid, 'all' AS __all, {c} FROM data WHERE {c} IS NOT NULL"
    ).to_arrow_table()
    spec = checks.TableSpec(
        name=f"{name}.{col}",
        population=f"persons with a value of {col} in {name}",
        dimensions=[checks.DimensionSpec(column="__all")],
        person_id="__pid",
        response=col,
        statistic="mean",
        rules=ctx.rules,
    )
    pt = ctx.history.protect(checks.protect(rows, spec))
    if pt.hidden.any() or not pt.ok:
        return "with earlier releases or outputs of this run it would reveal persons"
    ctx.history.record(pt, record)
    return ""


def build_describe(ctx: BuildContext, intent: DescribeIntent) -> Output:
    try:
        inner = check_rowwise(intent.sql, ctx.catalog)
        refuse_keyed(inner, {c: c for c in intent.columns})
        who = identity_of(inner, ctx.catalog)
        if who.unit != "person":
            raise QueryRefused("describe() summarises person tables")
        strange = foreign_constants(ctx, inner)
        cols = [f"CAST(src.{ident(c)} AS DOUBLE) AS {ident(c)}" for c in intent.columns]
        sql = f"SELECT {', '.join(who.select() + cols)} FROM ({intent.sql}) AS src"
        check_rowwise(sql, ctx.catalog)
        data = ctx.executor.arrow(sql)
    except KluisError as exc:
        return refused(intent.name, "describe", intent.source, str(exc))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("data", data)
    public, internal = [], []
    shown = hidden = 0
    records = ctx.request_dir / INTERNAL / "history" / intent.name  # one record per mean shown
    for i, col in enumerate(intent.columns):
        stats = _column_stats(con, col)
        row, why_row = {"column": col}, {"column": col}
        has_mean = stats["mean"] is not None
        linked = _linked(ctx, con, intent.name, col, records / f"{i:03d}") if has_mean else ""
        for s in STATISTICS:
            why = _why(stats, ctx.rules, s) if stats[s] is not None else "no values"
            if not why and s in ("mean", "std"):
                why = linked
            row[s] = None if why else stats[s]
            why_row[s] = why
            shown += not why
            hidden += bool(why)
        public.append(row)
        internal.append(why_row)
    con.close()
    out_csv = ctx.path(OUTPUTS, f"{intent.name}.csv")
    pd.DataFrame(public).to_csv(out_csv, index=False, float_format="%.10g", lineterminator="\n")
    status_csv = ctx.path(INTERNAL, f"{intent.name}.status.csv")
    pd.DataFrame(internal).to_csv(status_csv, index=False, lineterminator="\n")
    query = ctx.path(INTERNAL, f"{intent.name}.query.sql")
    query.write_text(sql + "\n", encoding="utf-8")
    if not shown:
        status, reason = "refused", "no statistic passes the rules"
    elif hidden:
        status, reason = "suppressed", f"{hidden} statistic(s) fail a rule and are left empty"
    else:
        status, reason = "safe", "every statistic passes the rules"
    if strange and status != "refused":
        status = "review"
        reason += f"; constant(s) not in the project's code: {', '.join(strange)}"
    files = {"output": ctx.rel(out_csv), "status": ctx.rel(status_csv), "query": ctx.rel(query)}
    if records.is_dir():
        files["history"] = ctx.rel(records)
    out = Output(
        name=intent.name,
        kind="describe",
        status=status,
        reason=reason,
        source=intent.source,
        files=files,
    )
    return finish(ctx, out)
