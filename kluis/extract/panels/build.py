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
the engine returns the year-T part once (shared by both tables) and the T+1 and T−1 parts, each
sorted by the pseudonym and put side by side in Arrow. All data work is Ibis expressions; the
pseudonym map (an Arrow table computed in Python from the key) is joined in as data.

Years are processed in spans: as many consecutive years in one query as stay under
`SPAN_ROWS` rows (estimated from the warehouse's file footers and the population counts). A
development sample (~10,000 persons a year) or a demo warehouse is one span — a handful of
queries for the whole extract instead of several per year, which is what its run time was
(building and compiling Ibis expressions, not computing) — while a national population is
one year at a time, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

import ibis
import ibis.expr.types as ir

from kluis.deliberation.model import PersonPopulation, PersonYearTable
from kluis.extract.context import ColumnMeta, ExtractContext, OutputTable, YearData
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.panels.frames import (
    Cuts,
    attach,
    coded_persons,
    frame,
    persons_columns,
    population,
)
from kluis.extract.panels.parts import OFFSETS, Parts, Span
from kluis.extract.panels.sample import Sample, draw
from kluis.extract.plan import EnforcementError, Planned, check_output_names, plan_variable
from kluis.extract.progress import expect
from kluis.extract.recode import decile_cuts_by_year
from kluis.extract.warehouse import WarehouseTables
from kluis.pseudonym import sequence_map

# most rows one query covers: years are grouped into spans of at most this many (estimated).
# Measured on the 26/104 full extract of 200,000 persons a year: with 1,000,000 the peak memory
# rose from 0.60 to 0.97 GB for no gain in CPU time; at 300,000 it stays at 0.58 GB.
SPAN_ROWS = 300_000


def spans(years: Sequence[int], rows: Callable[[int], int], limit: int | None = None) -> list[Span]:
    """Consecutive runs of `years` of at most `limit` (default SPAN_ROWS) rows together (a year
    alone may exceed it): each run is computed by one query."""
    limit = SPAN_ROWS if limit is None else limit
    out: list[list[int]] = []
    total = 0
    for y in sorted(set(years)):
        n = max(0, rows(y))
        if out and total + n <= limit:
            out[-1].append(y)
            total += n
        else:
            out.append([y])
            total = n
    return [tuple(s) for s in out]


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
        self._cuts: dict[tuple[str, int], Cuts] = {}
        self._pop: dict[tuple[Span, tuple[str, ...]], ir.Table | None] = {}
        self.sample: Sample | None = None
        self.population_sizes: dict[int, int] = {}
        self.mapped = 0  # persons in the pseudonym map (the sample in the development phase)

    # -- spans ---------------------------------------------------------------------------------

    def _warehouse_rows(self, year: int) -> int:
        """person_year rows of `year` (from the file footer; 0 outside the warehouse)."""
        return self.wh.rows("person_year", year) if self.wh.has_year(year) else 0

    def _frame_rows(self, year: int) -> int:
        """Rows of the frame of `year`: every person_year row, or the sample's."""
        rows = self._warehouse_rows(year)
        return min(rows, self.mapped) if self.sample is not None else rows

    def _part_rows(self, year: int) -> int:
        """Rows of a table-year: the population, or the sample within it."""
        rows = self.population_sizes.get(year, 0)
        return min(rows, self.mapped) if self.sample is not None else rows

    # -- population and pseudonyms -------------------------------------------------------------

    def population(self, years: Sequence[int], columns: Sequence[str] = ()) -> ir.Table | None:
        key = (tuple(sorted(years)), tuple(columns))
        if key not in self._pop:
            self._pop[key] = population(self.wh, self.spec, key[0], columns)
        return self._pop[key]

    def _pseudonym_map(self) -> ir.Table:
        """Distinct population ids over all years -> (sample) -> dense keyed sequence numbers,
        registered in the engine as data."""
        engine = self.ctx.engine
        years = self.spec.years.years
        missing = [y for y in years if not self.wh.has_year(y)]
        if missing:
            first, last = self.wh.years
            raise EnforcementError(
                f"deliberation years {missing} are outside the warehouse ({first}-{last})"
            )
        expect(self.ctx.progress, 3)
        pop = self.population(years)
        assert pop is not None
        self.ctx.progress("counting the population")
        got = engine.to_arrow(pop.aggregate(by="year", n=ibis._.count()))
        self.population_sizes = {
            int(y): int(n)
            for y, n in zip(
                got.column("year").to_pylist(), got.column("n").to_pylist(), strict=True
            )
        }
        self.ctx.progress("collecting distinct persons")
        ids = engine.to_arrow(pop.select("insz").distinct()).column("insz").combine_chunks()
        if self.ctx.phase == "development":
            spec = self.d.phases.development.spec
            if spec.method != "sample":
                raise EnforcementError(
                    f"deliberation {self.d.number}: development method {spec.method} is not "
                    "a person sample"
                )
            self.sample = draw(ids, self.ctx.key, spec.persons_per_year, self.population_sizes)
            ids = self.sample.ids
        self.mapped = len(ids)
        self.ctx.progress(f"pseudonymising {len(ids):,} persons")
        mapping = sequence_map(ids, self.ctx.key, id_name="map_insz", seq_name="map_seq")
        del ids
        return engine.register(mapping, hint="pseudonyms")

    # -- deciles -------------------------------------------------------------------------------

    def cuts(self, p: Planned, years: Sequence[int]) -> dict[int, Cuts]:
        """Decile cut points of `p` among the full population of each of `years` (None
        outside the warehouse), computed a span at a time."""
        todo = [y for y in dict.fromkeys(years) if (p.source_text, y) not in self._cuts]
        for y in todo:
            if not self.wh.has_year(y):
                self._cuts[(p.source_text, y)] = None
        inside = [y for y in todo if self.wh.has_year(y)]
        for span in spans(inside, self._warehouse_rows):
            pop = self.population(span, persons_columns([p]))
            got: Mapping[int, tuple[float, ...]] = {}
            if pop is not None:
                joined, raw = attach(self.wh, pop, span, [p], "c")
                value = raw(joined, p)
                if value is not None:
                    got = decile_cuts_by_year(
                        self.ctx.engine, joined, joined.year, value, p.scheme.quantiles
                    )
            for y in span:
                self._cuts[(p.source_text, y)] = got.get(y)
        return {y: self._cuts[(p.source_text, y)] for y in years}

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
        """Stage the frames of every year any table needs — the deliberation's years
        (variables at T and at T±1 of a neighbour) and the T±1 years just outside them — a
        span of years per frame; year -> the staged frame holding it."""
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
        frame_spans = spans(list(need), self._frame_rows)
        # the coarsened persons are staged when several frames join them; one frame joins
        # them as it computes them
        stage_persons = self.ctx.workdir is not None and len(frame_spans) > 1
        expect(self.ctx.progress, len(frame_spans) + stage_persons)
        persons = coded_persons(self.wh, every)
        if self.sample is not None:
            persons = persons.semi_join(mapping, persons.insz == mapping.map_insz)
        if stage_persons:
            assert self.ctx.workdir is not None
            self.ctx.progress("coarsening the persons' fixed characteristics")
            persons = self.ctx.engine.stage(persons, self.ctx.workdir / "frames", hint="persons")
        years = set(self.spec.years.years)
        frames: dict[int, ir.Table] = {}
        for span in frame_spans:
            self.ctx.progress(f"computing the variables of {_years_text(span)}")
            planned = list({p.name: p for y in span for p in need[y].values()}.values())
            f = frame(
                self.wh, self.spec, span, planned, self.cuts,
                keep=list(dict.fromkeys(keep)) if years.intersection(span) else (),
                persons=persons, only=mapping if self.sample is not None else None,
            )  # fmt: skip
            if f is None:
                continue
            if self.ctx.workdir is not None:
                f = self.ctx.engine.stage(f, self.ctx.workdir / "frames", hint="frame")
            frames.update(dict.fromkeys(span, f))
        return frames

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
        # the variables at T of every table, computed once per span
        current = list(
            {
                p.name: p
                for _s, planned, _i, _o, _d in plans
                for p in planned
                if p.kind != "pseudonym"
            }.values()
        )
        cur_columns = self._columns(current, pid, [], "next")
        year_column = cur_columns[1]
        parts = Parts(self.ctx.engine, self.wh, frames, mapping, pid, self.cuts, len(plans))
        part_spans = spans(self.spec.years.years, self._part_rows)
        cur_exprs = {s: parts.current(s, current) for s in part_spans}
        tables = []
        for spec, planned, _pid, offset, direction in plans:
            columns = self._columns(planned, pid, offset, direction)
            check_output_names([c.name for c in columns], spec.name)
            step, suffix, _ = OFFSETS[direction]
            off_columns = (columns[0], year_column, *columns[len(columns) - len(offset) :])
            years: dict[int, YearData] = {}
            year_notes: dict[int, tuple[str, ...]] = {}
            for span in part_spans:
                off_expr = parts.offset(span, offset, direction)
                for y in span:
                    years[y] = partial(
                        parts.table_year, y, span, spec.name, columns, cur_columns,
                        cur_exprs[span], off_columns, off_expr,
                    )  # fmt: skip
            for y in self.spec.years.years:
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


def _years_text(span: Span) -> str:
    return str(span[0]) if len(span) == 1 else f"{span[0]}-{span[-1]}"


def build(ctx: ExtractContext) -> list[OutputTable]:
    """The `person` builder of `kluis extract` (see kluis.extract.context.Builder)."""
    return PanelBuilder(ctx).build()
