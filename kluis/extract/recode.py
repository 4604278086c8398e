"""The coarsening catalogue (kluis.deliberation.coarsening) implemented once, by kind, in Ibis.

`describe(scheme, source)` says what a coarsened column looks like in the output (its
ColumnMeta kind and categories); `recode(value, scheme, ...)` is the Ibis expression that
produces it. Category outputs are either the category value itself (identity on coded columns,
map) or a 1-based code (classes, deciles) — both are accepted by kluis.extract.delivery.publish,
which writes value labels from `categories`. Unknown codes are passed through so that
publishing fails loudly on them instead of hiding them as missing.

Deciles need cut points of the full population of the year (`decile_cuts`), computed before any
sampling: a person's decile says where they stand in the country, not in the sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kluis.codes import load as load_codes
from kluis.deliberation.coarsening import Scheme
from kluis.deliberation.sources import ResolvedSource
from kluis.engine import Engine
from kluis.errors import BadInput
from kluis.extract.context import ColumnKind

Categories = tuple[tuple[str, str], ...]


class RecodeError(BadInput, ValueError):
    """A scheme applied where it cannot work (wrong type, missing cut points)."""


def code_list_categories(codes: str) -> Categories:
    return tuple((r["code"], r["label"]) for r in load_codes(codes).rows)


def map_categories(scheme: Scheme) -> Categories:
    """The groups of a map scheme in the order they first appear in the code list; labelled
    from a `<group>_label` column when the code list has one (e.g. sep.group_label)."""
    rows = load_codes(scheme.codes).rows  # type: ignore[arg-type]
    label_col = f"{scheme.group_column}_label"
    out: dict[str, str] = {}
    for r in rows:
        g = r[scheme.group_column]  # type: ignore[index]
        out.setdefault(g, r.get(label_col) or g)
    return tuple(out.items())


def describe(
    scheme: Scheme, source_type: str, codes: str | None = None
) -> tuple[ColumnKind, Categories]:
    """Output kind and categories of `scheme` applied to a column of `source_type` (a
    kluis.schema column type) with code list `codes`."""
    if not scheme.accepts_type(source_type):
        raise RecodeError(f"scheme {scheme.name} does not accept {source_type} values")
    if scheme.kind == "identity":
        if source_type == "bool":
            return "boolean", ()
        if source_type == "string":
            return ("category", code_list_categories(codes)) if codes else ("string", ())
        if source_type in ("int8", "int16", "int32", "int64"):
            return "integer", ()
        if source_type == "float64":
            return "number", ()
        raise RecodeError(f"scheme {scheme.name}: no identity output for {source_type}")
    if scheme.kind == "classes":
        return "category", tuple((lab, lab) for lab in scheme.labels)
    if scheme.kind == "deciles":
        return "category", tuple((lab, f"decile {i + 1}") for i, lab in enumerate(scheme.labels))
    if scheme.kind == "map":
        return "category", map_categories(scheme)
    if scheme.kind == "year_month":
        return "yearmonth", ()
    if scheme.kind == "year":
        return "integer", ()
    raise RecodeError(f"scheme {scheme.name}: unknown kind {scheme.kind}")


def describe_source(scheme: Scheme, source: ResolvedSource) -> tuple[ColumnKind, Categories]:
    return describe(scheme, source.type, source.codes)


def _classes(value: ir.NumericValue, scheme: Scheme) -> ir.Value:
    b = list(scheme.breaks)
    branches = []
    for i, lo in enumerate(b):
        if i + 1 < len(b):
            cond = (value >= lo) & (value < b[i + 1])
        elif scheme.upper is not None:
            cond = (value >= lo) & (value <= scheme.upper)
        else:
            cond = value >= lo
        branches.append((cond, ibis.literal(i + 1, type="int16")))
    return ibis.cases(*branches, else_=ibis.null("int16"))


def _deciles(value: ir.NumericValue, cuts: Sequence[float] | None, scheme: Scheme) -> ir.Value:
    if cuts is None:  # the year is outside the warehouse: nothing to place the value in
        return ibis.null("int16")
    if len(cuts) != scheme.quantiles - 1:
        raise RecodeError(f"scheme {scheme.name}: need {scheme.quantiles - 1} cut points")
    branches = [(value <= c, ibis.literal(i + 1, type="int16")) for i, c in enumerate(cuts)]
    return ibis.cases(
        *branches,
        else_=ibis.ifelse(value.isnull(), ibis.null("int16"), ibis.literal(len(cuts) + 1, "int16")),
    )


def _map(value: ir.StringValue, scheme: Scheme) -> ir.Value:
    groups = load_codes(scheme.codes).mapping(scheme.group_column)  # type: ignore[arg-type]
    # a simple CASE per code (measured faster in DuckDB than one IN list per group); unknown
    # codes stay as they are: publishing then names them instead of hiding them as missing
    return value.cases(*groups.items(), else_=value)


def recode(
    value: ir.Value,
    scheme: Scheme,
    *,
    source_type: str,
    cuts: Sequence[float] | None = None,
) -> ir.Value:
    """The coarsened value. `cuts` are the decile cut points of the year (deciles only)."""
    if not scheme.accepts_type(source_type):
        raise RecodeError(f"scheme {scheme.name} does not accept {source_type} values")
    if scheme.kind == "identity":
        return value
    if scheme.kind == "classes":
        return _classes(value, scheme)
    if scheme.kind == "deciles":
        return _deciles(value, cuts, scheme)
    if scheme.kind == "map":
        return _map(value, scheme)
    if scheme.kind == "year_month":
        return (value.year() * 100 + value.month()).cast("int32")
    if scheme.kind == "year":
        return value.year().cast("int16")
    raise RecodeError(f"scheme {scheme.name}: unknown kind {scheme.kind}")


def cut_positions(n: int, quantiles: int) -> list[int]:
    """1-based ranks whose values cut n sorted values into `quantiles` groups: ceil(k n / q)."""
    return [max(1, math.ceil(k * n / quantiles)) for k in range(1, quantiles)]


def decile_cuts(
    engine: Engine, values: ir.NumericColumn, quantiles: int = 10
) -> tuple[float, ...] | None:
    """Cut points of the non-null `values` (a column of the population of one year): the
    value at rank ceil(k n / q) for k = 1..q-1. Exact and the same on every engine (ranks, not
    interpolated quantiles). None when there are no values.

    One query: rank r (1-based) is some cut position iff floor(q r / n) > floor(q (r-1) / n),
    so only those rows (at most q) come back, with n."""
    t = values.name("v").as_table().filter(ibis._.v.notnull())
    w = t.mutate(r=ibis.row_number().over(order_by=ibis._.v) + 1, n=ibis._.v.count().over())
    hit = (w.r * quantiles) // w.n > ((w.r - 1) * quantiles) // w.n
    got = engine.to_arrow(w.filter(hit).select("r", "v", "n"))
    return _cuts_from(got, quantiles)


def decile_cuts_by_year(
    engine: Engine, table: ir.Table, year: ir.Value, values: ir.Value, quantiles: int = 10
) -> dict[int, tuple[float, ...]]:
    """`decile_cuts` of every year at once: `year` and `values` are columns of `table` (the
    population of several years). Ranks are counted within each year, so each year's cut
    points are exactly those `decile_cuts` gives for it alone; years without values are left
    out."""
    t = table.select(y=year, v=values).filter(ibis._.v.notnull())
    w = t.mutate(
        r=ibis.row_number().over(group_by=ibis._.y, order_by=ibis._.v) + 1,
        n=ibis._.v.count().over(group_by=ibis._.y),
    )
    hit = (w.r * quantiles) // w.n > ((w.r - 1) * quantiles) // w.n
    got = engine.to_arrow(w.filter(hit).select("y", "r", "v", "n"))
    years = got.column("y").to_pylist()
    out: dict[int, tuple[float, ...]] = {}
    for y in sorted(set(years)):
        rows = got.filter(pa.array([v == y for v in years]))
        cuts = _cuts_from(rows, quantiles)
        if cuts is not None:
            out[int(y)] = cuts
    return out


def _cuts_from(got: pa.Table, quantiles: int) -> tuple[float, ...] | None:
    """Cut points from the rows at the cut ranks (columns r, v, n) of one year."""
    if got.num_rows == 0:
        return None
    n = int(got.column("n")[0].as_py())
    by_rank = dict(zip(got.column("r").to_pylist(), got.column("v").to_pylist(), strict=True))
    return tuple(float(by_rank[p]) for p in cut_positions(n, quantiles))
