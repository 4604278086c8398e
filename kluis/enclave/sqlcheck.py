"""Is a query a *row-wise* selection from the extract? The one gate every output query passes.

The trusted side runs queries it did not write: the SQL a researcher's `.sql` file holds, and
the SQL that `kluis.safe` compiled from an Ibis expression inside the sandbox. Before running
one it proves, on the parsed query (sqlglot), that:

- it is one SELECT over the extract's own tables (no table functions, files, settings, other
  databases), with sub-selects only as FROM items (CTEs included);
- it is row-wise: every row of the result is one row of one extract table (no aggregate, window,
  DISTINCT, GROUP BY, LIMIT, UNION, subquery inside an expression, cross or many-to-one join), so
  no row repeats a person and no value mixes persons: joins must equate the *whole* key of the
  joined table with the same key columns on the other side (same entity, same year);
- every function is on a short allow-list of row-wise scalar functions.

`Rel.columns` then tells, for each output column, whether it is an extract column passed through
unchanged (its `Origin`) or computed: the caller checks that the columns that identify persons
(employers, counts of employees) are passed through, so nobody can renumber persons or inflate a
count. The literals are returned so the caller can check they were written in the project's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from kluis.enclave.extract import TableInfo
from kluis.errors import Refused


class QueryRefused(Refused):
    """A query the enclave will not run, with the reason."""


@dataclass(frozen=True)
class Origin:
    """An extract column passed through unchanged."""

    table: str
    column: str


@dataclass
class Rel:
    """What a (sub)query yields: output columns (name -> Origin, or None when computed) and the
    extract table whose rows its rows are (each result row is at most one row of it)."""

    columns: dict[str, Origin | None]
    identity: str
    sources: dict[str, Rel] = field(default_factory=dict)
    #: output columns that hold, or are computed from, a person or employer sequence number:
    #: never a dimension or a value of an output (each value would point at one person)
    keyed: set[str] = field(default_factory=set)


@dataclass
class Checked:
    tree: exp.Select
    rel: Rel
    literals: list[exp.Literal]


# Row-wise building blocks. Checked by exact class, so aggregates (subclasses of Func) never
# slip in through a parent class.
_STRUCTURE = (
    exp.Select,
    exp.From,
    exp.Join,
    exp.Where,
    exp.Table,
    exp.TableAlias,
    exp.Subquery,
    exp.With,
    exp.CTE,
    exp.Column,
    exp.Identifier,
    exp.Alias,
    exp.Star,
    exp.Order,
    exp.Ordered,
    exp.Paren,
    exp.Tuple,
    exp.DataType,
    exp.DataTypeParam,
    exp.Var,
)
_VALUES = (exp.Literal, exp.Null, exp.Boolean)
_LOGIC = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.StartsWith,
    exp.Contains,
    exp.RegexpLike,
)
_ARITHMETIC = (
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Neg,
    exp.Pow,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Sqrt,
    exp.Greatest,
    exp.Least,
    exp.Sign,
)
_SCALAR = (
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.Coalesce,
    exp.Nullif,
    exp.Substring,
    exp.Length,
    exp.Upper,
    exp.Lower,
    exp.Trim,
    exp.Concat,
    exp.DPipe,
    exp.Left,
    exp.Right,
    exp.StrPosition,
    exp.Replace,
    exp.SplitPart,
    exp.Year,
    exp.Month,
    exp.Extract,
)
ALLOWED = frozenset(_STRUCTURE + _VALUES + _LOGIC + _ARITHMETIC + _SCALAR)
#: functions sqlglot does not model (exp.Anonymous), by lower-case name
ALLOWED_FUNCTIONS = frozenset({"substr", "prefix", "suffix", "ends_with", "log2", "log10"})
_JOIN_SIDES = frozenset({"", "LEFT"})
_JOIN_KINDS = frozenset({"", "INNER", "OUTER"})


def _forbidden(node: exp.Expression) -> str | None:
    """Why `node` may not appear in a row-wise query (None when it may)."""
    text = node.sql(dialect="duckdb")[:80]
    if isinstance(node, exp.AggFunc):
        return f"aggregate {text}: an output's query must select person rows, not aggregates"
    if isinstance(node, exp.Window):
        return f"window function {text}: it mixes the rows of several persons"
    if isinstance(node, exp.Distinct):
        return "DISTINCT: every row of the query must be one row of the extract"
    if isinstance(node, exp.Group | exp.Having | exp.Qualify):
        return f"{type(node).__name__.upper()}: aggregation is done by the enclave's checks"
    if isinstance(node, exp.Limit | exp.Offset | exp.Fetch):
        return f"{type(node).__name__.upper()}: an output covers all rows its filter selects"
    if isinstance(node, exp.Union | exp.Except | exp.Intersect):
        return f"{type(node).__name__.upper()}: set operations can repeat persons"
    if isinstance(node, exp.Star) and (node.args.get("replace") or node.args.get("rename")):
        return f"{text}: * REPLACE / RENAME changes columns in place"
    if isinstance(node, exp.TableAlias) and node.args.get("columns"):
        return f"{text}: column aliases on a table rename its columns by position"
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name in ALLOWED_FUNCTIONS:
            return None
        return f"function {name}() is not allowed in the enclave"
    if isinstance(node, exp.Subquery) and not isinstance(node.parent, exp.From | exp.Join):
        return f"subquery inside an expression ({text}): it mixes the rows of several persons"
    if (
        isinstance(node, exp.Select)
        and node.parent is not None
        and not isinstance(node.parent, exp.Subquery | exp.CTE)
    ):
        return f"subquery inside an expression ({text}): it mixes the rows of several persons"
    if isinstance(node, exp.Table) and (
        not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog")
    ):
        return f"{text}: only the extract's tables can be read, by their plain names"
    if isinstance(node, exp.Func) and type(node) not in ALLOWED:
        return f"function {text} is not allowed in the enclave"
    if type(node) not in ALLOWED:
        return f"{type(node).__name__} ({text}) is not allowed in an output query"
    return None


def parse_select(sql: str) -> exp.Select:
    """One SELECT statement, or QueryRefused."""
    try:
        trees = [t for t in sqlglot.parse(sql, dialect="duckdb") if t is not None]
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0]
        raise QueryRefused(f"not valid DuckDB SQL: {first}") from None
    if len(trees) != 1:
        raise QueryRefused(f"expected one SELECT statement, found {len(trees)} statements")
    tree = trees[0]
    if not isinstance(tree, exp.Select):
        raise QueryRefused(
            f"{type(tree).__name__.upper()} statement: only SELECT queries can make outputs"
        )
    return tree


def check_rowwise(sql: str | exp.Select, catalog: Mapping[str, TableInfo]) -> Checked:
    """Prove that `sql` is a row-wise selection over `catalog`'s tables (QueryRefused if not)."""
    tree = parse_select(sql) if isinstance(sql, str) else sql
    for node in tree.walk():
        why = _forbidden(node)
        if why:
            raise QueryRefused(why)
    rel = _Analyser(catalog).select(tree, {})
    literals = [n for n in tree.find_all(exp.Literal) if not n.find_ancestor(exp.DataType)]
    return Checked(tree=tree, rel=rel, literals=literals)


def refuse_keyed(checked: Checked, columns: dict[str, str]) -> None:
    """QueryRefused when a column an output would publish (column -> its name in the output)
    holds or is computed from a person or employer sequence number: grouped by, each group is
    one person; summarised (min, max, mean, a coefficient), it gives numbers away."""
    for column, shown in columns.items():
        if column in checked.rel.keyed:
            raise QueryRefused(
                f"{shown}: made from a person or employer sequence number; an output may count "
                "persons, never show or summarise who they are"
            )


class _Analyser:
    def __init__(self, catalog: Mapping[str, TableInfo]) -> None:
        self.catalog = catalog

    def base(self, name: str) -> Rel:
        t = self.catalog[name]
        keys = {c for c in (t.person, t.employer) if c is not None}
        return Rel(columns={c: Origin(name, c) for c in t.columns}, identity=name, keyed=keys)

    def source(self, node: exp.Expression, ctes: dict[str, Rel]) -> tuple[str, Rel]:
        """(alias, relation) of a FROM or JOIN item."""
        if isinstance(node, exp.Table):
            name = node.name
            if name in ctes:
                return node.alias_or_name, ctes[name]
            if name not in self.catalog:
                known = ", ".join(sorted(self.catalog))
                raise QueryRefused(f"unknown table {name!r}: the extract's tables are {known}")
            return node.alias_or_name, self.base(name)
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
            return node.alias_or_name, self.select(node.this, ctes)
        raise QueryRefused(f"{node.sql(dialect='duckdb')[:80]}: not a table of the extract")

    def select(self, sel: exp.Select, outer: dict[str, Rel]) -> Rel:
        ctes = dict(outer)
        with_ = sel.args.get("with_")
        for cte in with_.expressions if with_ else []:
            if not isinstance(cte.this, exp.Select):
                raise QueryRefused(f"CTE {cte.alias}: must be a SELECT")
            ctes[cte.alias] = self.select(cte.this, ctes)
        from_ = sel.args.get("from_")
        if from_ is None:
            raise QueryRefused("a query without FROM selects no rows of the extract")
        sources: dict[str, Rel] = {}
        alias, rel = self.source(from_.this, ctes)
        sources[alias] = rel
        for join in sel.args.get("joins") or []:
            alias, rel = self.source(join.this, ctes)
            self.check_join(join, alias, rel, sources)
            sources[alias] = rel
        first = next(iter(sources.values()))
        columns: dict[str, Origin | None] = {}
        keyed: set[str] = set()
        for e in sel.expressions:
            for name, origin, is_key in self.projection(e, sources):
                if name not in columns:
                    columns[name] = origin
                    if is_key:
                        keyed.add(name)
        return Rel(columns=columns, identity=first.identity, sources=sources, keyed=keyed)

    def resolve(self, col: exp.Column, sources: dict[str, Rel]) -> tuple[str, Origin | None]:
        """(source alias, origin) of a column reference."""
        if col.table:
            rel = sources.get(col.table)
            if rel is None or col.name not in rel.columns:
                raise QueryRefused(f"column {col.sql(dialect='duckdb')} is not known")
            return col.table, rel.columns[col.name]
        for alias, rel in sources.items():
            if col.name in rel.columns:
                return alias, rel.columns[col.name]
        raise QueryRefused(f"column {col.name!r} is not known")

    def keyed(self, col: exp.Column, sources: dict[str, Rel]) -> bool:
        """Whether a column reference holds (or was computed from) a sequence number."""
        alias, _ = self.resolve(col, sources)
        return col.name in sources[alias].keyed

    def projection(self, e: exp.Expression, sources: dict[str, Rel]):
        """(name, origin, keyed) of each output column `e` makes."""
        if isinstance(e, exp.Star):
            dropped = {c.name for c in e.args.get("except_") or []}
            for rel in sources.values():
                yield from (
                    (n, o, n in rel.keyed) for n, o in rel.columns.items() if n not in dropped
                )
        elif isinstance(e, exp.Column) and isinstance(e.this, exp.Star):
            rel = sources.get(e.table)
            if rel is None:
                raise QueryRefused(f"{e.sql(dialect='duckdb')}: unknown table alias")
            dropped = {c.name for c in e.this.args.get("except_") or []}
            yield from ((n, o, n in rel.keyed) for n, o in rel.columns.items() if n not in dropped)
        elif isinstance(e, exp.Column):
            yield e.name, self.resolve(e, sources)[1], self.keyed(e, sources)
        elif isinstance(e, exp.Alias) and isinstance(e.this, exp.Column):
            yield e.alias, self.resolve(e.this, sources)[1], self.keyed(e.this, sources)
        else:
            is_key = False
            for col in e.find_all(exp.Column):
                if not isinstance(col.this, exp.Star):
                    is_key |= self.keyed(col, sources)
            yield e.alias_or_name, None, is_key

    def check_join(self, join: exp.Join, alias: str, rel: Rel, before: dict[str, Rel]) -> None:
        """A join may only add, to each row, the matching row of the same entity: the whole key
        of the joined table equated with the same key columns on the other side."""
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        method = str(join.args.get("method") or "").upper()
        if method or side not in _JOIN_SIDES or kind not in _JOIN_KINDS:
            raise QueryRefused(
                f"{' '.join(x for x in (method, side, kind) if x)} JOIN: only INNER and LEFT joins "
                "on the joined table's key are allowed"
            )
        key = self.catalog[rel.identity].key
        matched: set[str] = set()
        using = join.args.get("using") or []
        for ident in using:
            name = ident.name
            here = rel.columns.get(name)
            there = next((r.columns[name] for r in before.values() if name in r.columns), None)
            if here is not None and there is not None and here.column == there.column:
                matched.add(here.column)
        on = join.args.get("on")
        for cond in _conjuncts(on) if on is not None else []:
            if not isinstance(cond, exp.EQ):
                continue
            a, b = cond.this, cond.expression
            if not (isinstance(a, exp.Column) and isinstance(b, exp.Column)):
                continue
            for mine, other in ((a, b), (b, a)):
                try:
                    m_alias, m_origin = self.resolve(mine, {alias: rel})
                    o_alias, o_origin = self.resolve(other, before)
                except QueryRefused:
                    continue
                if mine.table and mine.table != alias:
                    continue
                same = m_origin and o_origin and m_origin.column == o_origin.column
                if same and m_origin.table == rel.identity:
                    matched.add(m_origin.column)
        missing = [k for k in key if k not in matched]
        if missing:
            raise QueryRefused(
                f"join with {alias}: its key ({', '.join(key)}) must be equated with the same "
                f"columns of the other table; missing {', '.join(missing)} (a join on less "
                "than the key repeats rows)"
            )


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]
