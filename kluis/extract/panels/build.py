"""Person-year panels (deliberation 26/104): year T plus authorised T+1 or T−1 variables.

For each year T of the deliberation and each person-year table:
- rows: the population of T (e.g. living in Belgium, 15-64 on 31 December, not in the waiting
  register), restricted to the development sample in that phase;
- columns: the pseudonym, the year, every variable of the table coarsened at T, and each
  authorised next/previous-year variable coarsened at T+1 / T−1 (suffix `_next` / `_prev`).

T±1 values come from the person's warehouse record of that year whether or not the person is
in the population then (someone aged 64 in T is 65 in T+1), so a person's T+1 values equal
their own row of year T+1 whenever they are in both populations. Deciles are cut on the full
population of the year the value belongs to.

How: every year's variables are coarsened once into a staged frame (kluis.extract.panels.frames);
for each year T the engine returns the year-T part once (shared by both tables) and the T+1
and T−1 parts, each sorted by the pseudonym and put side by side in Arrow. All data work is
Ibis expressions; the pseudonym map (an Arrow table computed in Python from the key) is joined
in as data.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kluis.deliberation.model import PersonPopulation, PersonYearTable
from kluis.extract.context import ColumnMeta, ExtractContext, OutputTable, YearData
from kluis.extract.delivery.formats import arrow_schema, conform_output
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.derive import derive
from kluis.extract.panels.frames import (
    IN_POP,
    NULL_TYPE,
    attach,
    coarsened,
    coded_persons,
    frame,
    persons_columns,
    population,
)
from kluis.extract.panels.sample import Sample, draw
from kluis.extract.plan import EnforcementError, Planned, check_output_names, plan_variable
from kluis.extract.recode import decile_cuts
from kluis.extract.warehouse import WarehouseTables
from kluis.pseudonym import sequence_map

OFFSETS = {"next": (1, "_next", " (T+1)"), "previous": (-1, "_prev", " (T−1)")}


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
        self._current: tuple[int, pa.Table] | None = None
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
                joined, raw = attach(self.wh, pop, year, [p], "c")
                value = raw(joined, p)
                self._cuts[key] = (
                    None
                    if value is None
                    else decile_cuts(self.ctx.engine, value, quantiles=p.scheme.quantiles)
                )
        return self._cuts[key]

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

    def frames(self, plans: list[tuple], mapping: ir.Table) -> dict[int, ir.Table]:
        """Stage one frame per year any table needs: the deliberation's years (variables at T
        and at T±1 of a neighbour) and the T±1 years just outside them."""
        need: dict[int, dict[str, Planned]] = {}
        keep: list[str] = []
        for _spec, planned, _pid, offset, direction in plans:
            step = OFFSETS[direction][0]
            for y in self.spec.years.years:
                for p in planned:
                    if p.kind != "pseudonym":
                        need.setdefault(y, {})[p.name] = p
                for p in offset:
                    if p.source.kind == "derived":  # from the year-T row (e.g. death at T+1)
                        keep.extend(DERIVED_INPUTS[p.source.column])
                    elif self.wh.has_year(y + step):
                        need.setdefault(y + step, {})[p.name] = p
        every = list({p.name: p for ps in need.values() for p in ps.values()}.values())
        persons = coded_persons(self.wh, every)
        if self.sample is not None:
            persons = persons.semi_join(mapping, persons.insz == mapping.map_insz)
        if self.ctx.workdir is not None:
            self.ctx.progress("coarsening the persons' fixed characteristics")
            persons = self.ctx.engine.stage(persons, self.ctx.workdir / "frames", hint="persons")
        frames: dict[int, ir.Table] = {}
        for y in sorted(need):
            self.ctx.progress(f"computing the variables of {y}")
            years = self.spec.years.years
            f = frame(
                self.wh, self.spec, y, list(need[y].values()), self.cuts,
                keep=list(dict.fromkeys(keep)) if y in years else (), persons=persons,
                only=mapping if self.sample is not None else None,
            )  # fmt: skip
            if f is None:
                continue
            if self.ctx.workdir is not None:
                f = self.ctx.engine.stage(f, self.ctx.workdir / "frames", hint=f"frame{y}")
            frames[y] = f
        return frames

    def _base(self, year: int, frames: dict[int, ir.Table], mapping: ir.Table) -> ir.Table:
        """The population of `year` in its frame, restricted to the pseudonym map (the sample
        in the development phase), with the sequence number."""
        f = frames[year]
        base = f.filter(f[IN_POP])
        return base.join(mapping, base.insz == mapping.map_insz)

    def current_part(
        self,
        year: int,
        frames: dict[int, ir.Table],
        mapping: ir.Table,
        pid: str,
        current: list[Planned],
    ) -> ir.Table:
        """Pseudonym, year and the variables coarsened at T: shared by every table of T."""
        base = self._base(year, frames, mapping)
        values: dict[str, ir.Value] = {
            pid: base.map_seq.cast("int64"),
            "year": ibis.literal(year, "int16"),
        }
        values.update({p.name: base[p.name] for p in current})
        return base.select(**values)

    def offset_part(
        self,
        year: int,
        frames: dict[int, ir.Table],
        mapping: ir.Table,
        pid: str,
        offset: list[Planned],
        direction: str,
    ) -> ir.Table:
        """Pseudonym and the T±1 variables: the frame of T±1 left-joined on the population of
        T; derived values (e.g. death in T+1) from the persons columns of the year-T row."""
        step, suffix, _ = OFFSETS[direction]
        base = self._base(year, frames, mapping)
        other = frames.get(year + step)
        stored = [p for p in offset if p.source.kind != "derived"]
        if other is not None and stored:
            o = other.select(__okey=other.insz, **{p.name + suffix: other[p.name] for p in stored})
            base = base.left_join(o, base.insz == o["__okey"]).drop("__okey")
        covered = self.wh.has_year(year + step)
        values: dict[str, ir.Value] = {pid: base.map_seq.cast("int64")}
        for p in offset:
            name = p.name + suffix
            if p.source.kind == "derived":
                raw = derive(p.source.column, base, year + step) if covered else None
                cuts = self.cuts(p, year + step) if p.scheme.kind == "deciles" else None
                values[name] = coarsened(raw, p, cuts)
            elif other is None:
                values[name] = ibis.null(NULL_TYPE[p.kind])
            else:
                values[name] = base[name]
        return base.select(**values)

    def _collect_part(self, expr: ir.Table, columns: tuple[ColumnMeta, ...], pid: str) -> pa.Table:
        """Execute a part, conform it to its output types and sort it by the pseudonym."""
        part = OutputTable("part", columns, {}, (pid,))
        chunks = [conform_output(part, b) for b in self.ctx.engine.to_batches(expr) if b.num_rows]
        data = pa.concat_tables(chunks) if chunks else arrow_schema(part).empty_table()
        return data.sort_by(pid) if data.num_rows else data

    def _table_year(
        self,
        year: int,
        columns: tuple[ColumnMeta, ...],
        current: tuple[ColumnMeta, ...],
        cur_expr: ir.Table,
        off_columns: tuple[ColumnMeta, ...],
        off_expr: ir.Table,
        pid: str,
    ) -> pa.Table:
        """Rows of one table-year as conformed Arrow, sorted by the pseudonym. The year-T part
        is computed once for all tables of that year (publish asks for them year by year)."""
        if self._current is None or self._current[0] != year:
            self._current = None  # drop the previous year's part before computing this one
            self._current = (year, self._collect_part(cur_expr, current, pid))
        cur = self._current[1]
        off = self._collect_part(off_expr, off_columns, pid)
        if not cur.column(pid).equals(off.column(pid)):
            raise RuntimeError(f"year {year}: parts of the table do not align on {pid}")
        names = [c.name for c in columns]
        arrays = [cur.column(n) if n in cur.column_names else off.column(n) for n in names]
        return pa.Table.from_arrays(arrays, names=names)

    def build(self) -> list[OutputTable]:
        mapping = self._pseudonym_map()
        plans = []
        for spec in self.d.tables:
            if not isinstance(spec, PersonYearTable):
                raise EnforcementError(f"table {spec.name}: not a person-year table")
            plans.append((spec, *self._plan(spec)))
        pids = {pid for _s, _p, pid, _o, _d in plans}
        if len(pids) != 1:
            raise EnforcementError("all person-year tables must share one pseudonym variable")
        pid = pids.pop()
        frames = self.frames(plans, mapping)
        first, last = self.wh.years
        # the variables at T of every table, computed once per year
        current = list(
            {
                p.name: p
                for _s, planned, _i, _o, _d in plans
                for p in planned
                if p.kind != "pseudonym"
            }.values()
        )
        cur_columns = self._columns(current, pid, [], "next")
        tables = []
        for spec, planned, _pid, offset, direction in plans:
            columns = self._columns(planned, pid, offset, direction)
            check_output_names([c.name for c in columns], spec.name)
            step, suffix, _ = OFFSETS[direction]
            off_columns = (columns[0], *columns[len(columns) - len(offset) :])
            years: dict[int, YearData] = {}
            year_notes: dict[int, tuple[str, ...]] = {}
            for y in self.spec.years.years:
                cur_expr = self.current_part(y, frames, mapping, pid, current)
                off_expr = self.offset_part(y, frames, mapping, pid, offset, direction)
                years[y] = partial(
                    self._table_year, y, columns, cur_columns, cur_expr, off_columns, off_expr, pid
                )
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
                    unit="person-year",
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
