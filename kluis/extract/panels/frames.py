"""Person-year frames: every authorised variable of a span of years, coarsened once.

A frame holds, for each person_year row of its years (the warehouse's scope, not only the
deliberation's population), the row's `year`, the coarsened value of every variable any table
needs, `__in_pop` (member of the deliberation's population that year) and the persons columns
that derived values at another year need (birth and death date; private, never output). Each
year of a frame serves four table-years (as T in both tables, as T+1 and as T−1), so it is
computed once and staged by the engine.

Every expression here covers a span of years at once, with the year as a column: one query
(one Ibis expression built and compiled) for all the years of a development sample, one year at
a time for a national population (the builder chooses the spans, kluis.extract.panels.build).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ibis
import ibis.expr.types as ir

from kluis.deliberation.model import PersonPopulation
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.derive import derive
from kluis.extract.plan import EnforcementError, Planned
from kluis.extract.recode import recode
from kluis.extract.warehouse import WarehouseTables

IN_POP = "__in_pop"
STATIC = "__s_"  # prefix of the pre-coarsened persons variables in `coded_persons`
NULL_TYPE = {
    "category": "int16",
    "boolean": "boolean",
    "integer": "int64",
    "number": "float64",
    "yearmonth": "int32",
    "string": "string",
    "pseudonym": "int64",
}
FILTER_COLUMNS = ("birth_date", "death_date", "waiting_register")
Cuts = tuple[float, ...] | None


def in_population(t: ir.Table, spec: PersonPopulation) -> ir.BooleanValue:
    """The population rule of a person deliberation on a person_year row (with its `year`)
    joined with persons: resident, age on 31 December within bounds, not in the waiting
    register, alive on 31 December."""
    year = t.year.cast("int32")
    age = year - t.birth_date.year()
    cond = age.between(spec.age[0], spec.age[1])
    if spec.resident:
        cond = cond & t.resident
    if spec.exclude_waiting_register:
        cond = cond & ~t.waiting_register
    # died after 31 December of the year <=> died in a later year
    return cond & (t.death_date.isnull() | (t.death_date.year() > year))


def person_rows(
    wh: WarehouseTables,
    years: Sequence[int],
    columns: Sequence[str] = (),
    persons: ir.Table | None = None,
) -> ir.Table | None:
    """person_year of `years` joined with persons (or its coded copy, see `coded_persons`):
    `insz`, `year`, the population-rule columns and the requested person_year / persons
    columns (narrow selections make cheaper joins)."""
    py = wh.span("person_year", years)
    if py is None:
        return None
    p = persons if persons is not None else wh.persons()
    want = list(dict.fromkeys(columns))
    fixed = ("insz", "year", "resident")
    py_cols = [c for c in want if c in py.columns and c not in fixed]
    p_cols = [c for c in dict.fromkeys([*FILTER_COLUMNS, *want]) if c in p.columns]
    p_cols = [c for c in p_cols if c not in py_cols and c not in fixed]
    left = py.select(*fixed, *py_cols)
    right = p.select(__pkey=p.insz, **{c: p[c] for c in p_cols})
    return left.join(right, left.insz == right.__pkey).drop("__pkey")


def population(
    wh: WarehouseTables, spec: PersonPopulation, years: Sequence[int], columns: Sequence[str] = ()
) -> ir.Table | None:
    """The deliberation's population of `years`: `insz`, `year` and the requested columns."""
    t = person_rows(wh, years, columns)
    if t is None:
        return None
    return t.filter(in_population(t, spec)).select("insz", "year", *dict.fromkeys(columns))


def persons_columns(planned: Sequence[Planned]) -> list[str]:
    """persons / person_year columns the planned variables read directly or via derivation."""
    cols: list[str] = []
    for p in planned:
        if p.source.kind == "column" and p.source.table in ("persons", "person_year"):
            cols.append(p.source.column)
        elif p.source.kind == "derived":
            cols.extend(DERIVED_INPUTS[p.source.column])
    return list(dict.fromkeys(cols))


def attach(
    wh: WarehouseTables, base: ir.Table, years: Sequence[int], planned: Sequence[Planned], tag: str
) -> tuple[ir.Table, Callable[[ir.Table, Planned], ir.Value | None]]:
    """Left-join the other source tables of `years` onto `base` (person_year and persons
    columns, with `year`) on person and year, under private aliases — one join per table,
    multi-row tables pivoted by their `where` — and return the joined table with a function
    giving a variable's raw (uncoarsened) value, or None when no year has the source."""
    refs: dict[str, str | None] = {}
    by_table: dict[str, list[Planned]] = {}
    for p in planned:
        if p.source.kind != "column":
            continue
        if p.source.table in ("persons", "person_year"):
            refs[p.name] = p.source.column
        else:
            by_table.setdefault(p.source.table, []).append(p)
    n = 0
    for table, members in sorted(by_table.items()):
        src = wh.span(table, years)
        if src is None:
            refs.update(dict.fromkeys((p.name for p in members), None))
            continue
        key, ykey = f"__{tag}k{table}", f"__{tag}y{table}"
        values: dict[tuple[str, tuple], str] = {}
        for p in members:
            slot = (p.source.column, tuple(sorted(p.var.where.items())))
            if slot not in values:
                values[slot] = f"__{tag}{n}"
                n += 1
            refs[p.name] = values[slot]
        if members[0].source.extra_keys("person"):
            # several rows per person and year: one conditional aggregate per (column, where)
            sel = src.group_by(**{key: src.insz, ykey: src.year}).aggregate(
                **{
                    alias: src[col].max(where=_all([src[k] == v for k, v in where]))
                    for (col, where), alias in values.items()
                }
            )
        else:
            wheres = {w for _c, w in values}
            if len(wheres) > 1:
                raise EnforcementError(f"{table}: different `where` on a one-row table")
            where = next(iter(wheres))
            filt = src.filter([src[k] == v for k, v in where]) if where else src
            sel = filt.select(
                **{key: filt.insz, ykey: filt.year},
                **{a: filt[c] for (c, _w), a in values.items()},
            )
        base = base.left_join(sel, (base.insz == sel[key]) & (base.year == sel[ykey]))
        base = base.drop(key, ykey)

    def raw(t: ir.Table, p: Planned) -> ir.Value | None:
        if p.source.kind == "derived":  # every row's year is in the warehouse
            return derive(p.source.column, t, t.year)
        ref = refs[p.name]
        return None if ref is None else t[ref]

    return base, raw


def _all(conds: list[ir.BooleanValue]) -> ir.BooleanValue | None:
    out = None
    for c in conds:
        out = c if out is None else out & c
    return out


def coarsened(raw: ir.Value | None, p: Planned, cuts: Sequence[float] | None = None) -> ir.Value:
    """The output value of `p` from its raw value (typed null when there is none)."""
    if raw is None:
        return ibis.null(NULL_TYPE[p.kind])
    return recode(raw, p.scheme, source_type=p.source.type, cuts=cuts)


def coarsened_in_year(
    raw: ir.Value | None, p: Planned, year: ir.IntegerValue, cuts: Mapping[int, Cuts]
) -> ir.Value:
    """`coarsened`, with the decile cut points of each row's year (`cuts`: year -> cut points;
    a year without them gives null, as one outside the warehouse does)."""
    if raw is None or p.scheme.kind != "deciles":
        return coarsened(raw, p)
    branches = [(year == y, coarsened(raw, p, c)) for y, c in sorted(cuts.items())]
    if not branches:
        return ibis.null(NULL_TYPE[p.kind])
    return ibis.cases(*branches, else_=ibis.null(NULL_TYPE[p.kind]))


def is_static(p: Planned) -> bool:
    """A variable of the persons table: the same in every year, coarsened once."""
    return p.source.kind == "column" and p.source.table == "persons"


def coded_persons(wh: WarehouseTables, planned: Sequence[Planned]) -> ir.Table:
    """persons with the population-rule columns and every static variable already coarsened
    (under the variable's name): the frames of all years join this instead of redoing it."""
    p = wh.persons()
    static = [v for v in planned if is_static(v)]
    values: dict[str, ir.Value] = {"insz": p.insz}
    values.update({c: p[c] for c in FILTER_COLUMNS})
    values.update({STATIC + v.name: coarsened(p[v.source.column], v) for v in static})
    return p.select(**values)


def frame(
    wh: WarehouseTables,
    spec: PersonPopulation,
    years: Sequence[int],
    planned: Sequence[Planned],
    cuts: Callable[[Planned, Sequence[int]], Mapping[int, Cuts]],
    keep: Sequence[str] = (),
    persons: ir.Table | None = None,
    only: ir.Table | None = None,
) -> ir.Table | None:
    """The frame of `years`: `insz`, `year`, `__in_pop`, the persons columns in `keep`, and
    every planned variable coarsened in its row's year under its own name (None when no year
    is in the warehouse). `persons`: the result of `coded_persons` (static variables already
    coarsened); `only`: a table whose `map_insz` restricts the rows (the development sample:
    frames of ~10,000 persons a year instead of the country; the population flag and decile
    cut points are computed on the full population regardless)."""
    dynamic = [p for p in planned if persons is None or not is_static(p)]
    static = [p.name for p in planned if persons is not None and is_static(p)]
    base = person_rows(
        wh, years, [*persons_columns(dynamic), *keep, *(STATIC + n for n in static)], persons
    )
    if base is None:
        return None
    if only is not None:
        base = base.semi_join(only, base.insz == only.map_insz)
    base = base.mutate(**{IN_POP: in_population(base, spec)})
    joined, raw = attach(wh, base, years, dynamic, "f")
    values: dict[str, ir.Value] = {
        "insz": joined.insz,
        "year": joined.year,
        IN_POP: joined[IN_POP],
    }
    values.update({c: joined[c] for c in keep})
    values.update({c: joined[STATIC + c] for c in static})
    for p in dynamic:
        c = cuts(p, years) if p.scheme.kind == "deciles" else {}
        values[p.name] = coarsened_in_year(raw(joined, p), p, joined.year, c)
    return joined.select(**values)
