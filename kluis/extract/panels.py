"""Person-year panels (deliberation 26/104): year T plus authorised T+1 or T−1 variables.

For each year T of the deliberation and each person-year table:
- rows: the population of T (e.g. living in Belgium, 15-64 on 31 December, not in the waiting
  register), restricted to the development sample in that phase;
- columns: the pseudonym, the year, every variable of the table coarsened at T, and each
  authorised next/previous-year variable coarsened at T+1 / T−1 (suffix `_next` / `_prev`).

T±1 values come from the person's warehouse record of that year whether or not the person is
in the population then (someone aged 64 in T is 65 in T+1), so a person's T+1 values equal
their own row of year T+1 whenever they are in both populations. Deciles are cut on the full
population of the year the value belongs to. Everything here is an Ibis expression; the
pseudonym map (an Arrow table computed in Python from the key) is joined in as data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kluis.deliberation.model import PersonPopulation, PersonYearTable
from kluis.extract.context import ColumnMeta, ExtractContext, OutputTable
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.derive import derive
from kluis.extract.plan import EnforcementError, Planned, check_output_names, plan_variable
from kluis.extract.recode import decile_cuts, recode
from kluis.extract.sample import Sample, draw
from kluis.extract.warehouse import WarehouseTables
from kluis.pseudonym import sequence_map

OFFSETS = {"next": (1, "_next", " (T+1)"), "previous": (-1, "_prev", " (T−1)")}
_NULL_TYPE = {
    "category": "int16",
    "boolean": "boolean",
    "integer": "int64",
    "number": "float64",
    "yearmonth": "int32",
    "string": "string",
    "pseudonym": "int64",
}


def population(
    wh: WarehouseTables, spec: PersonPopulation, year: int, columns: Sequence[str] = ()
) -> ir.Table | None:
    """The deliberation's population of `year` — person_year of that year joined with persons,
    filtered on residence, age on 31 December, the waiting register and being alive — with
    `insz` and the requested person_year / persons `columns` (narrow: cheaper joins)."""
    py = wh.table("person_year", year)
    if py is None:
        return None
    p = wh.persons()
    py_cols = [c for c in dict.fromkeys(columns) if c in py.columns and c != "insz"]
    p_cols = [c for c in dict.fromkeys(columns) if c in p.columns and c not in py_cols]
    filters = ["birth_date", "death_date", "waiting_register"]
    left = py.select("insz", "resident", *[c for c in py_cols if c != "resident"])
    right = p.select(
        __pkey=p.insz, **{c: p[c] for c in dict.fromkeys([*filters, *p_cols]) if c != "insz"}
    )
    t = left.join(right, left.insz == right.__pkey)
    age = ibis.literal(year, "int32") - t.birth_date.year()
    cond = [age.between(spec.age[0], spec.age[1])]
    if spec.resident:
        cond.append(t.resident)
    if spec.exclude_waiting_register:
        cond.append(~t.waiting_register)
    cond.append(t.death_date.isnull() | (t.death_date > dt.date(year, 12, 31)))
    return t.filter(cond).select("insz", *dict.fromkeys([*py_cols, *p_cols]))


def persons_columns(planned: Sequence[Planned]) -> list[str]:
    """persons / person_year columns the planned variables read directly or via derivation."""
    cols: list[str] = []
    for p in planned:
        if p.source.kind == "column" and p.source.table in ("persons", "person_year"):
            cols.append(p.source.column)
        elif p.source.kind == "derived":
            cols.extend(DERIVED_INPUTS[p.source.column])
    return list(dict.fromkeys(cols))


class _Attached:
    """A base table (with `insz`) plus the source tables of one year left-joined under private
    aliases — one join per table, multi-row tables pivoted by their `where` — and the raw
    (uncoarsened) value of each planned variable at that year."""

    def __init__(
        self,
        wh: WarehouseTables,
        base: ir.Table,
        year: int,
        planned: Sequence[Planned],
        tag: str,
        base_is_year: bool,
    ) -> None:
        self.year = year
        self.covered = wh.has_year(year)  # outside the warehouse nothing is known, not even death
        self.refs: dict[str, str | None] = {}  # variable -> column in the table (None: absent)
        by_table: dict[str, list[Planned]] = {}
        for p in planned:
            if p.source.kind != "column":
                continue
            table = p.source.table
            if table == "persons" or (table == "person_year" and base_is_year):
                self.refs[p.name] = p.source.column
                continue
            by_table.setdefault(table, []).append(p)
        n = 0
        for table, members in sorted(by_table.items()):
            src = wh.table(table, year)
            if src is None:
                self.refs.update(dict.fromkeys((p.name for p in members), None))
                continue
            key = f"__{tag}k{table}"
            pivot = bool(members[0].source.extra_keys("person"))
            values: dict[tuple[str, tuple], str] = {}
            for p in members:
                slot = (p.source.column, tuple(sorted(p.var.where.items())))
                if slot not in values:
                    values[slot] = f"__{tag}{n}"
                    n += 1
                self.refs[p.name] = values[slot]
            if pivot:  # several rows per person: one conditional aggregate per (column, where)
                sel = src.group_by(**{key: src.insz}).aggregate(
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
                    **{key: filt.insz}, **{a: filt[c] for (c, _w), a in values.items()}
                )
            base = base.left_join(sel, base.insz == sel[key]).drop(key)
        self.table = base

    def raw(self, t: ir.Table, p: Planned) -> ir.Value | None:
        """The raw value of `p` at this year, from table `t` (the joined base), or None when the
        year is outside the warehouse."""
        if p.source.kind == "derived":
            return derive(p.source.column, t, self.year) if self.covered else None
        ref = self.refs[p.name]
        return None if ref is None else t[ref]


def _all(conds: list[ir.BooleanValue]) -> ir.BooleanValue | None:
    out = None
    for c in conds:
        out = c if out is None else out & c
    return out


class PanelBuilder:
    """Builds the person-year tables of a deliberation for one extract run."""

    def __init__(self, ctx: ExtractContext) -> None:
        d = ctx.deliberation
        if not isinstance(d.population, PersonPopulation):
            raise EnforcementError(f"deliberation {d.number} is not about persons")
        self.ctx = ctx
        self.d = d
        self.spec: PersonPopulation = d.population
        self.wh = WarehouseTables(ctx.engine, ctx.warehouse)
        self._cuts: dict[tuple[str, int], tuple[float, ...] | None] = {}
        self._pop: dict[tuple[int, tuple[str, ...]], ir.Table | None] = {}
        self.sample: Sample | None = None
        self.population_sizes: dict[int, int] = {}

    # -- population and pseudonyms -------------------------------------------------------------

    def population(self, year: int, columns: Sequence[str] = ()) -> ir.Table | None:
        key = (year, tuple(columns))
        if key not in self._pop:
            self._pop[key] = population(self.wh, self.spec, year, columns)
        return self._pop[key]

    def _pseudonym_map(self) -> ir.Table:
        """Distinct population ids over all years -> (sample) -> dense keyed sequence numbers,
        registered in the engine as data."""
        engine = self.ctx.engine
        years = self.spec.years.years
        pops = {y: self.population(y) for y in years}
        missing = [y for y, p in pops.items() if p is None]
        if missing:
            first, last = self.wh.years
            raise EnforcementError(
                f"deliberation years {missing} are outside the warehouse ({first}-{last})"
            )
        self.ctx.progress("counting the population")
        counts = ibis.union(
            *[p.select(y=ibis.literal(y, "int32")) for y, p in pops.items()], distinct=False
        ).aggregate(by="y", n=ibis._.count())
        got = engine.to_arrow(counts)
        self.population_sizes = {
            int(y): int(n)
            for y, n in zip(got.column("y").to_pylist(), got.column("n").to_pylist(), strict=True)
        }
        self.ctx.progress("collecting distinct persons")
        ids_expr = ibis.union(*[p.select("insz") for p in pops.values()], distinct=True)
        ids = engine.to_arrow(ids_expr).column("insz").combine_chunks()
        if self.ctx.phase == "development":
            spec = self.d.phases.development.spec
            if spec.method != "sample":
                raise EnforcementError(
                    f"deliberation {self.d.number}: development method {spec.method} is not "
                    "a person sample"
                )
            self.sample = draw(ids, self.ctx.key, spec.persons_per_year, self.population_sizes)
            ids = self.sample.ids
        self.ctx.progress(f"pseudonymising {len(ids):,} persons")
        mapping = sequence_map(ids, self.ctx.key, id_name="map_insz", seq_name="map_seq")
        del ids
        return engine.register(mapping, hint="pseudonyms")

    # -- deciles -------------------------------------------------------------------------------

    def cuts(self, p: Planned, year: int) -> tuple[float, ...] | None:
        """Decile cut points of `p` among the full population of `year` (None outside it)."""
        key = (p.source_text, year)
        if key not in self._cuts:
            pop = self.population(year, persons_columns([p]))
            if pop is None:
                self._cuts[key] = None
            else:
                att = _Attached(self.wh, pop, year, [p], "c", base_is_year=True)
                raw = att.raw(att.table, p)
                self._cuts[key] = (
                    None
                    if raw is None
                    else decile_cuts(self.ctx.engine, raw, quantiles=p.scheme.quantiles)
                )
        return self._cuts[key]

    def _value(self, att: _Attached, t: ir.Table, p: Planned) -> ir.Value:
        raw = att.raw(t, p)
        if raw is None:
            return ibis.null(_NULL_TYPE[p.kind])
        cuts = self.cuts(p, att.year) if p.scheme.kind == "deciles" else None
        return recode(raw, p.scheme, source_type=p.source.type, cuts=cuts)

    # -- tables --------------------------------------------------------------------------------

    def _plan(self, spec: PersonYearTable) -> tuple[list[Planned], str, list[Planned], str]:
        planned = [plan_variable(self.d, v) for v in spec.variables]
        pseudonyms = [p for p in planned if p.kind == "pseudonym"]
        if len(pseudonyms) != 1:
            raise EnforcementError(
                f"table {spec.name}: needs exactly one pseudonym.person variable, has "
                f"{len(pseudonyms)}"
            )
        if spec.next_year and spec.previous_year:
            raise EnforcementError(f"table {spec.name}: either next_year or previous_year")
        direction = "next" if spec.next_year else "previous"
        names = spec.next_year or spec.previous_year
        allowed = set(self.d.offsets.next if direction == "next" else self.d.offsets.previous)
        extra = [n for n in names if n not in allowed]
        if extra:
            raise EnforcementError(
                f"table {spec.name}: {direction}-year variables {extra} are not authorised by "
                f"the offsets of deliberation {self.d.number}"
            )
        offset = [plan_variable(self.d, n) for n in names]
        if any(p.kind == "pseudonym" for p in offset):
            raise EnforcementError(f"table {spec.name}: the pseudonym has no T±1 version")
        return planned, pseudonyms[0].name, offset, direction

    def _columns(
        self, planned: list[Planned], pid: str, offset: list[Planned], direction: str
    ) -> tuple[ColumnMeta, ...]:
        _, suffix, label = OFFSETS[direction]
        cols = [
            ColumnMeta(pid, "pseudonym", "Sequence number (pseudonym)", source="pseudonym.person"),
            ColumnMeta("year", "year", "Reference year T (situation on 31 December)"),
        ]
        cols += [p.meta() for p in planned if p.kind != "pseudonym"]
        cols += [p.meta(p.name + suffix, label) for p in offset]
        return tuple(cols)

    def table_year(
        self,
        spec: PersonYearTable,
        year: int,
        mapping: ir.Table,
        planned: list[Planned],
        pid: str,
        offset: list[Planned],
        direction: str,
    ) -> ir.Table:
        current = [p for p in planned if p.kind != "pseudonym"]
        # T±1 values read persons columns (time-invariant) from the base, the rest at T±1
        offset_persons = [
            p for p in offset if p.source.kind == "derived" or p.source.table == "persons"
        ]
        pop = self.population(year, persons_columns([*current, *offset_persons]))
        assert pop is not None
        base = pop.join(mapping, pop.insz == mapping.map_insz)
        cur = _Attached(self.wh, base, year, current, "t", base_is_year=True)
        step, suffix, _ = OFFSETS[direction]
        other = _Attached(self.wh, cur.table, year + step, offset, "o", base_is_year=False)
        t = other.table
        values: dict[str, ir.Value] = {
            pid: t.map_seq.cast("int64"),
            "year": ibis.literal(year, "int16"),
        }
        for p in current:
            values[p.name] = self._value(cur, t, p)
        for p in offset:
            values[p.name + suffix] = self._value(other, t, p)
        return t.select(**values)

    def build(self) -> list[OutputTable]:
        mapping = self._pseudonym_map()
        first, last = self.wh.years
        tables = []
        for spec in self.d.tables:
            if not isinstance(spec, PersonYearTable):
                raise EnforcementError(f"table {spec.name}: not a person-year table")
            planned, pid, offset, direction = self._plan(spec)
            columns = self._columns(planned, pid, offset, direction)
            check_output_names([c.name for c in columns], spec.name)
            step, suffix, _ = OFFSETS[direction]
            years: dict[int, ir.Table | pa.Table] = {}
            year_notes: dict[int, tuple[str, ...]] = {}
            for y in self.spec.years.years:
                self.ctx.progress(f"planning {spec.name} {y}")
                years[y] = self.table_year(spec, y, mapping, planned, pid, offset, direction)
                if not self.wh.has_year(y + step) and offset:
                    year_notes[y] = (
                        f"the *{suffix} columns are empty: year {y + step} is outside the "
                        f"warehouse ({first}-{last})",
                    )
            tables.append(
                OutputTable(
                    name=spec.name,
                    columns=columns,
                    years=years,
                    sort_by=(pid,),
                    description=spec.description,
                    notes=self._notes(offset, direction),
                    year_notes=year_notes,
                )
            )
        return tables

    def _notes(self, offset: list[Planned], direction: str) -> tuple[str, ...]:
        step, suffix, _ = OFFSETS[direction]
        sign = "+1" if step > 0 else "−1"
        notes = [
            f"Population of each year T: {self.spec.description.strip() or 'see deliberation'}",
            "Persons are numbered 1..N by a keyed hash: the number means nothing, and is the "
            "same for a person in every year and table of this extract.",
        ]
        if offset:
            notes.append(
                f"The *{suffix} columns describe year T{sign}, taken from the person's record of "
                f"that year whether or not the person belongs to the population then; they are "
                f"empty when there is no such record (e.g. died, emigrated, or year T{sign} "
                "outside the warehouse)."
            )
        if any(p.scheme.kind == "deciles" for p in offset) or any(
            p.scheme.kind == "deciles"
            for t in self.d.tables
            if isinstance(t, PersonYearTable)
            for p in (plan_variable(self.d, v) for v in t.variables)
        ):
            notes.append(
                "Deciles are computed on the full population of the year the value belongs to, "
                "also in the development sample."
            )
        if self.sample is not None:
            notes.append(self.sample.describe().capitalize() + ".")
        return tuple(notes)


def build(ctx: ExtractContext) -> list[OutputTable]:
    """The `person` builder of `kluis extract` (see kluis.extract.context.Builder)."""
    return PanelBuilder(ctx).build()
