"""Table outputs (crosstab, pivot_table, histogram, each SQL aggregate): recomputed on the extract
by the trusted side, protected by the disclosure engine with the deliberation's rules.

One path for all three sources: a `TableJob` names the query whose rows the table covers and
the columns that make its dimensions and value. The query passes the row-wise gate, must keep
its identity columns unchanged, runs on the extract, and the engine does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kluis.disclosure.against_history import REASON as HISTORY_REASON
from kluis.enclave import checks
from kluis.enclave.outputs import (
    INTERNAL,
    OUTPUTS,
    BuildContext,
    Identity,
    finish,
    foreign_constants,
    identity_of,
    literal_sql,
    refused,
)
from kluis.enclave.query import ident
from kluis.enclave.request import Output
from kluis.enclave.sqlcheck import Checked, QueryRefused, check_rowwise, refuse_keyed
from kluis.errors import KluisError

#: public column names per unit (None: not published). In an employer table the engine's count
#: is of records (an employer has a row per cell and year), which says nothing useful: only the
#: employees leave.
_RENAME: dict[str, dict[str, str | None]] = {
    "person": {},
    "employer-cell": {"persons": None, "sum": "employees"},
    "employer": {"persons": "employers"},
}


#: cells of one table, margins included (the example tables have at most ~110)
MAX_CELLS = 100_000


@dataclass
class TableJob:
    name: str
    kind: str  # table | histogram | sql
    source: str
    sql: str  # the query whose rows the table covers
    dims: list[tuple[str, str]]  # (column of `sql`, name in the output)
    value: str | None = None  # column of `sql` the statistic is of
    statistic: str = "count"
    quantile: float | None = None
    edges: list[float] | None = None  # histogram: bins of `value`
    unit: str | None = None  # force "employer" (count of employers) for SQL count(DISTINCT ..)
    notes: list[str] = field(default_factory=list)


def _bins(edges: list[float]) -> list[tuple[float, float, str]]:
    out = []
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        out.append((lo, hi, checks.bin_label(lo, hi, k == len(edges) - 2)))
    return out


def _microdata_sql(job: TableJob, who: Identity) -> tuple[str, list[str] | None]:
    """The trusted query of the table's rows: contributor, dimensions, value; and the bin
    labels of a histogram (its codes, so empty bins show as 0)."""
    cols = who.select()
    keep = []
    codes = None
    for column, shown in job.dims:
        cols.append(f"CAST(src.{ident(column)} AS VARCHAR) AS {ident(shown)}")
        keep.append(f"src.{ident(column)} IS NOT NULL")
    if job.edges is not None:
        v = f"CAST(src.{ident(job.value)} AS DOUBLE)"
        bins = _bins(job.edges)
        whens = " ".join(
            f"WHEN {v} >= {literal_sql(lo)} AND {v} {'<=' if k == len(bins) - 1 else '<'} "
            f"{literal_sql(hi)} THEN '{label}'"
            for k, (lo, hi, label) in enumerate(bins)
        )
        cols.append(f"CASE {whens} END AS {ident(job.value)}")
        keep.append(f"{v} >= {literal_sql(job.edges[0])} AND {v} <= {literal_sql(job.edges[-1])}")
        codes = [b[2] for b in bins]
    elif job.value is not None and job.statistic != "count":
        cols.append(f"CAST(src.{ident(job.value)} AS DOUBLE) AS __value")
        keep.append(f"src.{ident(job.value)} IS NOT NULL")
    where = f" WHERE {' AND '.join(keep)}" if keep else ""
    return f"SELECT {', '.join(cols)} FROM ({job.sql}) AS src{where}", codes


def _spec(job: TableJob, who: Identity, rules: checks.Rules, population: str, codes):
    dims = [checks.DimensionSpec(column=shown) for _, shown in job.dims]
    if job.edges is not None:
        dims = [checks.DimensionSpec(column=job.value, codes=codes)]
    common = {"name": job.name, "population": population, "dimensions": dims, "rules": rules}
    if who.unit == "employer-cell":
        if job.statistic != "count":
            raise QueryRefused(
                "employer tables give counts of employees (the sum of n_employees) and of "
                "employers; other statistics of their classes are not computed"
            )
        return checks.TableSpec(
            **common, person_id="__pid", employer_id="__pid", response="__n", statistic="sum"
        )
    if job.statistic == "count":
        return checks.TableSpec(**common, person_id="__pid")
    if who.unit != "person":
        raise QueryRefused("counts of employers only: no statistic of another column")
    stat = {"median": "quantile"}.get(job.statistic, job.statistic)
    q = 0.5 if job.statistic == "median" else (job.quantile or 0.5)
    return checks.TableSpec(
        **common, person_id="__pid", response="__value", statistic=stat, quantile=q
    )


def _status(pt, counts: dict[str, int], findings: list[dict]) -> tuple[str, str]:
    violated = checks.audit_violations(pt)
    errors = [f for f in findings if f.get("severity") == "error"]
    if violated:
        return "refused", f"{violated} hidden cell(s) could be narrowed below their protection"
    if errors:
        first = errors[0]
        return "refused", (
            f"{len(errors)} finding(s) against earlier releases or outputs of this run, e.g. "
            f"{first.get('kind')}: {first.get('detail')}"
        )
    if counts["primary"] or counts["secondary"]:
        linked = int((pt.primary.reason == HISTORY_REASON).sum())
        because = (
            f" ({linked} of them because earlier releases or outputs of this run would reveal them)"
            if linked
            else ""
        )
        return "suppressed", (
            f"{counts['primary']} cell(s) must be hidden{because} and {counts['secondary']} "
            "more are hidden to protect them"
        )
    return "safe", "every cell passes the rules"


def _refuse_huge(data, dims: list[str]) -> None:
    """A table of more than MAX_CELLS cells (margins included) is refused before the engine
    sees it: it is mostly empty or one-person cells, and it would hold the trusted side (which
    has no sandbox limits) for a long time."""
    import pyarrow.compute as pc

    cells = 1
    for d in dims:
        values = int(pc.count_distinct(data.column(d)).as_py())
        cells *= values + 1
        if cells > MAX_CELLS:
            raise QueryRefused(
                f"more than {MAX_CELLS:,} cells with the margins ({d} has {values:,} values): "
                "recode to fewer categories"
            )


def _refuse_listed_values(data, dims: list[str], n_min: int, codes: frozenset[str]) -> None:
    """A dimension most of whose values are held by fewer than `n_min` contributors is a
    near-unique column (a date, a wage, a registration number): its labels alone list
    individual values, even where every count beside them is hidden. Refused; recode first.
    Labels that are codes of the extract's codebook are public and do not count. With one row
    per person (the usual table) rows are counted, else distinct persons."""
    import pyarrow.compute as pc

    pid = data.column("__pid")
    one_row_each = bool(dims) and pid.null_count == 0 and checks.all_distinct(pid.to_numpy())
    for d in dims:
        if one_row_each:
            per = pc.value_counts(data.column(d)).flatten()
            labels, counts = per[0].to_pylist(), per[1].to_pylist()
        else:
            per = data.group_by(d).aggregate([("__pid", "count_distinct")])
            labels = per.column(d).to_pylist()
            counts = per.column("__pid_count_distinct").to_pylist()
        rare = sum(c < n_min and v not in codes for v, c in zip(labels, counts, strict=True))
        if rare >= 2 and 2 * rare >= len(counts):
            raise QueryRefused(
                f"{d}: {rare} of its {len(counts)} values are each held by fewer than {n_min}: "
                "its labels would list individual values; recode it into bands or categories"
            )


def gate(job: TableJob, catalog: dict) -> Checked:
    """The table's rows pass the row-wise gate, and nothing it publishes (a dimension, the
    column of its statistic) is made from a sequence number."""
    inner = check_rowwise(job.sql, catalog)
    shown = dict(job.dims)
    if job.value is not None and (job.statistic != "count" or job.edges is not None):
        shown[job.value] = "the aggregated column" if job.value.startswith("__") else job.value
    refuse_keyed(inner, shown)
    return inner


def build_table(ctx: BuildContext, job: TableJob) -> Output:
    """Check, compute, protect and write one table output."""
    watch = ctx.stopwatch(job.name)
    try:
        inner = gate(job, ctx.catalog)
        who = identity_of(inner, ctx.catalog)
        if job.unit == "employer" and who.unit != "person":
            who = Identity("employer", who.table, employer=who.employer)
        strange = foreign_constants(ctx, inner) if job.kind != "sql" else []
        sql, codes = _microdata_sql(job, who)
        check_rowwise(sql, ctx.catalog)  # what runs is checked, not only its parts
        watch.lap("gate")
        data = ctx.executor.arrow(sql)
        if data.num_rows == 0:
            raise QueryRefused("the query selects no rows")
        _refuse_huge(data, [shown for _, shown in job.dims] if job.edges is None else [])
        _refuse_listed_values(
            data,
            [shown for _, shown in job.dims],
            ctx.rules.min_frequency,
            ctx.extract.category_values(),
        )
        watch.lap("query")
        what = "persons" if who.unit == "person" else "employers"
        population = f"{what} in the rows of {job.source}"
        spec = _spec(job, who, ctx.rules, population, codes)
        pt = checks.protect(data, spec)
        pt.deliberation, pt.rules_source = ctx.deliberation, ctx.rules_source
        watch.lap("protect")
        pt = ctx.history.protect(pt)
        findings = pt.history_findings
        watch.lap("history")
    except KluisError as exc:
        return refused(job.name, job.kind, job.source, str(exc))
    counts = checks.status_counts(pt)
    status, reason = _status(pt, counts, findings)
    if strange and status in ("safe", "suppressed"):
        status = "review"
        reason += (
            f"; the query holds constant(s) not written in the project's code ({', '.join(strange)}"
            "): they may have been computed from the data, so a checker must confirm them"
        )
    written = checks.write_files(
        pt,
        ctx.request_dir / OUTPUTS,
        ctx.request_dir / INTERNAL,
        public=status != "refused",  # a refused table's values never sit among the outputs
        rename=_RENAME[who.unit],
    )
    query = ctx.path(INTERNAL, f"{job.name}.query.sql")
    query.write_text(sql + "\n", encoding="utf-8")
    files = {role: ctx.rel(p) for role, p in written.items()}
    if "table" in files:
        files["output"] = files.pop("table")
    files["query"] = ctx.rel(query)
    if status != "refused":  # what may leave is what later outputs are audited against
        record = ctx.history.record(pt, ctx.request_dir / INTERNAL / "history" / job.name)
        files["history"] = ctx.rel(record)
    watch.lap("write")
    out = Output(
        name=job.name,
        kind=job.kind,
        status=status,
        reason=reason,
        source=job.source,
        files=files,
        findings=checks.findings_json(findings),
    )
    return finish(ctx, out)
