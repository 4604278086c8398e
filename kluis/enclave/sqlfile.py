"""SQL files: each `SELECT ... GROUP BY ...` becomes a table output, checked like a crosstab.

The trusted side parses every statement (sqlglot, DuckDB dialect) and finds its dimensions (the
GROUP BY expressions), its aggregates and its rows (FROM, joins, WHERE). Each aggregate becomes a
table job over the same rows: the rows go through the row-wise gate like any other output query,
and the disclosure engine recomputes per cell what the rules need, distinct persons included.
Name an output with a comment line `-- output: NAME` before its query.

Aggregates understood: count(*) and count(DISTINCT person_id) (persons), count(x) (persons with
x), sum, avg/mean, min, max, median, quantile_cont/percentile_cont(x, q); on an employer table
sum(n_employees) (employees) and count(DISTINCT employer_id) (employers). Anything else, a
query without aggregate (row-level), HAVING, LIMIT, DISTINCT, window functions or an aggregate
inside an expression is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from kluis.enclave.extract import TableInfo
from kluis.enclave.sqlcheck import QueryRefused, parse_select
from kluis.enclave.tables import TableJob

_NAME = re.compile(r"^[ \t]*--[ \t]*output:[ \t]*([A-Za-z0-9][A-Za-z0-9_.-]{0,127})[ \t]*$", re.M)


@dataclass(frozen=True)
class Statement:
    line: int
    text: str
    name: str | None


def statements(text: str) -> list[Statement]:
    """The statements of a SQL file with their first line and `-- output:` name."""
    try:
        tokens = Tokenizer(dialect="duckdb").tokenize(text)
    except Exception as exc:  # noqa: BLE001 - sqlglot raises its own TokenError subclasses
        raise QueryRefused(f"cannot read the SQL: {str(exc).splitlines()[0]}") from None
    out: list[Statement] = []
    start = 0
    semis = [t for t in tokens if t.token_type == TokenType.SEMICOLON]
    bounds = [t.start for t in semis] + [len(text)]
    for end in bounds:
        chunk = text[start:end]
        first_token = next((t for t in tokens if start <= t.start < end), None)
        if first_token is not None and first_token.token_type != TokenType.SEMICOLON:
            named = list(_NAME.finditer(chunk))
            out.append(Statement(first_token.line, chunk, named[-1].group(1) if named else None))
        start = end + 1
    return out


def _aggregates(e: exp.Expression) -> list[exp.AggFunc]:
    return [n for n in e.walk() if isinstance(n, exp.AggFunc)]


def _statistic(
    agg: exp.AggFunc, first: TableInfo, alias: str
) -> tuple[str, exp.Expression | None, float | None, str | None]:
    """(statistic, value expression, quantile, unit) of one aggregate."""
    arg = agg.this
    if isinstance(agg, exp.Count):
        if isinstance(arg, exp.Star) or arg is None:
            if first.unit == "employer-cell":
                raise QueryRefused(
                    "count(*) on an employer table counts records, not persons: use "
                    "sum(n_employees) or count(DISTINCT employer_id)"
                )
            return "count", None, None, None
        if isinstance(arg, exp.Distinct):
            inner = arg.expressions[0] if arg.expressions else None
            name = inner.name if isinstance(inner, exp.Column) else None
            if name and name == first.person:
                return "count", None, None, None
            if name and name == first.employer:
                return "count", None, None, "employer"
            raise QueryRefused(
                "count(DISTINCT ...) counts persons or employers only (person_id, employer_id)"
            )
        return "count", arg, None, None  # persons with a value of arg
    if isinstance(agg, exp.Sum):
        if first.count and isinstance(arg, exp.Column) and arg.name == first.count:
            return "count", None, None, None
        return "sum", arg, None, None
    if isinstance(agg, exp.Avg):
        return "mean", arg, None, None
    if isinstance(agg, exp.Min | exp.Max):
        return type(agg).__name__.lower(), arg, None, None
    if isinstance(agg, exp.Median):
        return "median", arg, 0.5, None
    if isinstance(agg, exp.PercentileCont | exp.Quantile | exp.ApproxQuantile):
        q = agg.args.get("expression") or agg.args.get("quantile")
        try:
            qv = float(q.this) if isinstance(q, exp.Literal) else None
        except ValueError:
            qv = None
        if qv is None or not 0 < qv < 1:
            raise QueryRefused(f"{agg.sql(dialect='duckdb')}: give the quantile as a number")
        return "quantile", arg, qv, None
    raise QueryRefused(f"aggregate {agg.sql(dialect='duckdb')[:60]} is not one the enclave checks")


def plan(
    st: Statement, catalog: dict[str, TableInfo], stem: str, k: int, source: str
) -> list[TableJob]:
    """The table jobs of one statement (one per aggregate), or QueryRefused with the reason."""
    tree = parse_select(st.text)
    for key, why in (
        ("having", "HAVING: the enclave decides which cells are hidden"),
        ("limit", "LIMIT: a table covers every group"),
        ("offset", "OFFSET: a table covers every group"),
        ("qualify", "QUALIFY is not allowed"),
        ("distinct", "SELECT DISTINCT lists row-level combinations"),
    ):
        if tree.args.get(key):
            raise QueryRefused(why)
    if any(isinstance(n, exp.Window) for n in tree.walk()):
        raise QueryRefused("window functions mix the rows of several persons")
    projections = list(tree.expressions)
    group = tree.args.get("group")
    aggs = [p for p in projections if _aggregates(p)]
    if not aggs:
        raise QueryRefused(
            "no aggregate: a row-level result cannot leave; ask for counts or statistics by "
            "GROUP BY"
        )
    group_exprs: list[exp.Expression] = []
    if group is not None and group.args.get("all"):
        group_exprs = [p for p in projections if not _aggregates(p)]
    elif group is not None:
        by_alias = {p.alias: p for p in projections if isinstance(p, exp.Alias)}
        for g in group.expressions:
            if _is_number(g):
                group_exprs.append(_by_position(g, projections))
            elif isinstance(g, exp.Column) and not g.table and g.name in by_alias:
                group_exprs.append(by_alias[g.name])
            else:
                group_exprs.append(g)
    dims: list[tuple[exp.Expression, str]] = []
    for g in group_exprs:
        expr = g.this if isinstance(g, exp.Alias) else g
        if _aggregates(expr):
            raise QueryRefused("an aggregate in GROUP BY")
        shown = g.alias if isinstance(g, exp.Alias) else (expr.name or f"d{len(dims)}")
        dims.append((expr, shown))
    grouped = {d.sql() for d, _ in dims} | {s for _, s in dims}
    for p in projections:
        inner = p.this if isinstance(p, exp.Alias) else p
        if not _aggregates(p) and inner.sql() not in grouped and p.alias_or_name not in grouped:
            raise QueryRefused(f"{p.sql(dialect='duckdb')}: neither grouped nor an aggregate")
        if _aggregates(p) and not isinstance(inner, exp.AggFunc):
            raise QueryRefused(
                f"{p.sql(dialect='duckdb')[:60]}: an aggregate inside an expression; select the "
                "aggregate itself (compute ratios from the checked table)"
            )
    if not dims:
        raise QueryRefused("no GROUP BY: a single total is a table with one cell; group it")
    shown_names = [shown for _, shown in dims]
    for shown in shown_names:
        if shown.startswith("__"):
            raise QueryRefused(
                f"{shown}: names starting with __ are reserved for the enclave's own columns"
            )
        if shown_names.count(shown) > 1:
            raise QueryRefused(f"{shown}: two dimensions have this name; name them apart")
    from_ = tree.args.get("from_")
    if from_ is None or not isinstance(from_.this, exp.Table | exp.Subquery):
        raise QueryRefused("a query needs FROM one of the extract's tables")
    first_alias = from_.this.alias_or_name
    first = _first_table(tree, catalog)
    jobs = []
    base = f"{stem}_{k}" if st.name is None else st.name
    for p in aggs:
        agg = p.this if isinstance(p, exp.Alias) else p
        stat, value, q, unit = _statistic(agg, first, first_alias)
        rows = tree.copy()
        rows.set("group", None)
        rows.set("order", None)
        cols = [exp.Column(this=exp.Star(), table=exp.to_identifier(first_alias))]
        cols += [exp.alias_(d.copy(), f"__d{i}", quoted=True) for i, (d, _) in enumerate(dims)]
        if value is not None:
            cols.append(exp.alias_(value.copy(), "__v", quoted=True))
        rows.set("expressions", cols)
        name = base if len(aggs) == 1 else f"{base}_{p.alias_or_name or len(jobs) + 1}"
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:128]
        job = TableJob(
            name=name,
            kind="sql",
            source=f"{source}:{st.line}",
            sql=rows.sql(dialect="duckdb"),
            dims=[(f"__d{i}", shown) for i, (_, shown) in enumerate(dims)],
            value="__v" if value is not None else None,
            statistic=stat,
            quantile=q,
            unit=unit,
        )
        if stat == "count" and value is not None:  # count(x): persons with a value of x
            job.sql = f"SELECT * FROM ({job.sql}) AS c WHERE c.__v IS NOT NULL"
            job.value = None
        jobs.append(job)
    return jobs


def _is_number(g: exp.Expression) -> bool:
    inner = g.this if isinstance(g, exp.Neg) else g
    return isinstance(inner, exp.Literal) and not inner.is_string


def _by_position(g: exp.Expression, projections: list[exp.Expression]) -> exp.Expression:
    """The projection `GROUP BY <n>` names (1-based), or QueryRefused."""
    text = g.sql(dialect="duckdb")
    if not (isinstance(g, exp.Literal) and text.isdigit() and 1 <= int(text) <= len(projections)):
        raise QueryRefused(
            f"GROUP BY position {text}: the SELECT has {len(projections)} column(s), numbered "
            "from 1"
        )
    return projections[int(text) - 1]


def _from_of(node: exp.Expression | None) -> exp.Expression | None:
    """The first FROM item of a SELECT (None for anything else: a UNION, a VALUES list)."""
    from_ = node.args.get("from_") if isinstance(node, exp.Select) else None
    return from_.this if from_ is not None else None


def _first_table(tree: exp.Select, catalog: dict[str, TableInfo]) -> TableInfo:
    """The extract table the query's rows are (its first FROM item, through CTEs/subqueries)."""
    node = _from_of(tree)
    ctes = {
        c.alias: c.this
        for c in (tree.args.get("with_").expressions if tree.args.get("with_") else [])
    }
    for _ in range(20):
        if isinstance(node, exp.Subquery):
            node = _from_of(node.this)
        elif isinstance(node, exp.Table) and node.name in ctes:
            node = _from_of(ctes[node.name])
        elif isinstance(node, exp.Table) and node.name in catalog:
            return catalog[node.name]
        else:
            break
    raise QueryRefused(
        "the first FROM item must be a table of the extract, or a SELECT (CTE or subquery) "
        "whose first FROM item is one (no UNION or VALUES)"
    )
