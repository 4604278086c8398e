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
import numpy as np
import pyarrow as pa

from kluis.deliberation.model import PersonPopulation, PersonYearTable
from kluis.extract.context import ColumnMeta, ExtractContext, OutputTable, YearData
from kluis.extract.delivery.formats import arrow_schema, conform_output
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.derive import derive
from kluis.extract.panels.frames import (
    IN_POP,
    NULL_TYPE,
    Cuts,
    attach,
    coarsened_in_year,
    coded_persons,
    frame,
    persons_columns,
    population,
)
from kluis.extract.panels.sample import Sample, draw
from kluis.extract.plan import EnforcementError, Planned, check_output_names, plan_variable
from kluis.extract.progress import expect
from kluis.extract.recode import decile_cuts_by_year
from kluis.extract.warehouse import WarehouseTables
from kluis.pseudonym import sequence_map

OFFSETS = {"next": (1, "_next", " (T+1)"), "previous": (-1, "_prev", " (T−1)")}
# most rows one query covers: years are grouped into spans of at most this many (estimated).
# Measured on the 26/104 full extract of 200,000 persons a year: with 1,000,000 the peak memory
# rose from 0.60 to 0.97 GB for no gain in CPU time; at 300,000 it stays at 0.58 GB.
SPAN_ROWS = 300_000
Span = tuple[int, ...]


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
        # (part, span) -> rows of each year of the span not yet used up, and uses left
        self._parts: dict[tuple[str, Span], dict[int, pa.Table]] = {}
        self._uses: dict[tuple[str, Span], dict[int, int]] = {}
        self._tables = 0  # tables sharing the year-T part

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

    def _frames_of(
        self, frames: dict[int, ir.Table], years: Sequence[int], columns: Sequence[str]
    ) -> ir.Table | None:
        """The rows of `years` from the staged frames holding them (`columns` of each)."""
        present = [y for y in years if y in frames]
        if not present:
            return None
        parts = []
        for f in {id(frames[y]): frames[y] for y in present}.values():
            mine = [y for y in present if frames[y] is f]
            rows = f.filter(f.year.isin(mine)) if len(mine) < _count_years(frames, f) else f
            parts.append(rows.select(*dict.fromkeys(["insz", "year", IN_POP, *columns])))
        return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)

    def _base(
        self, span: Span, frames: dict[int, ir.Table], mapping: ir.Table, columns: Sequence[str]
    ) -> ir.Table:
        """The population of the span's years in their frames, restricted to the pseudonym map
        (the sample in the development phase), with the sequence number."""
        f = self._frames_of(frames, span, columns)
        assert f is not None
        base = f.filter(f[IN_POP])
        return base.join(mapping, base.insz == mapping.map_insz)

    def current_part(
        self,
        span: Span,
        frames: dict[int, ir.Table],
        mapping: ir.Table,
        pid: str,
        current: list[Planned],
    ) -> ir.Table:
        """Pseudonym, year and the variables coarsened at T: shared by every table of T."""
        base = self._base(span, frames, mapping, [p.name for p in current])
        values: dict[str, ir.Value] = {
            pid: base.map_seq.cast("int64"),
            "year": base.year.cast("int16"),
        }
        values.update({p.name: base[p.name] for p in current})
        return base.select(**values)

    def offset_part(
        self,
        span: Span,
        frames: dict[int, ir.Table],
        mapping: ir.Table,
        pid: str,
        offset: list[Planned],
        direction: str,
    ) -> ir.Table:
        """Pseudonym, year and the T±1 variables: the frames of T±1 left-joined on the
        population of T; derived values (e.g. death in T+1) from the persons columns of the
        year-T row."""
        step, suffix, _ = OFFSETS[direction]
        stored = [p for p in offset if p.source.kind != "derived"]
        keep = [
            c for p in offset if p.source.kind == "derived" for c in DERIVED_INPUTS[p.source.column]
        ]
        base = self._base(span, frames, mapping, keep)
        other = self._frames_of(frames, [y + step for y in span], [p.name for p in stored])
        if other is not None and stored:
            o = other.select(
                __okey=other.insz,
                __oyear=(other.year - step).cast("int16"),
                **{p.name + suffix: other[p.name] for p in stored},
            )
            base = base.left_join(o, (base.insz == o["__okey"]) & (base.year == o["__oyear"]))
            base = base.drop("__okey", "__oyear")
        covered = [y for y in span if self.wh.has_year(y + step)]
        values: dict[str, ir.Value] = {
            pid: base.map_seq.cast("int64"),
            "year": base.year.cast("int16"),
        }
        for p in offset:
            name = p.name + suffix
            if p.source.kind == "derived":
                values[name] = self._derived_offset(base, p, span, covered, step)
            elif other is None:
                values[name] = ibis.null(NULL_TYPE[p.kind])
            else:
                values[name] = base[name]
        return base.select(**values)

    def _derived_offset(
        self, base: ir.Table, p: Planned, span: Span, covered: list[int], step: int
    ) -> ir.Value:
        """A derived T±1 value from the year-T row: null where T±1 is outside the warehouse;
        deciles cut on the population of T±1."""
        if not covered:
            return ibis.null(NULL_TYPE[p.kind])
        raw = derive(p.source.column, base, base.year + step)
        cuts: dict[int, Cuts] = {}
        if p.scheme.kind == "deciles":
            at = self.cuts(p, [y + step for y in covered])
            cuts = {y: at[y + step] for y in covered}
        value = coarsened_in_year(raw, p, base.year, cuts)
        if len(covered) < len(span):
            value = ibis.ifelse(base.year.isin(covered), value, ibis.null(NULL_TYPE[p.kind]))
        return value

    def _part(
        self,
        name: str,
        span: Span,
        year: int,
        uses: int,
        expr: ir.Table,
        columns: tuple[ColumnMeta, ...],
        pid: str,
    ) -> pa.Table:
        """The rows of `year` of a part of the span's tables. A part is executed once for its
        span, conformed to its output types and cut into years sorted by the pseudonym; a
        year's rows are let go after their `uses`-th use, so a national population holds no
        more than one year's parts at a time (publish asks for the years in order)."""
        key = (name, span)
        if year not in self._parts.get(key, {}):
            for old in [k for k in self._parts if k[1] != span]:
                del self._parts[old]
            part = OutputTable("part", columns, {}, (pid,))
            chunks = [
                conform_output(part, b) for b in self.ctx.engine.to_batches(expr) if b.num_rows
            ]
            data = pa.concat_tables(chunks) if chunks else arrow_schema(part).empty_table()
            data = data.sort_by([("year", "ascending"), (pid, "ascending")])
            years = data.column("year").to_numpy()
            by_year = {}
            for y in span:
                lo, hi = (int(i) for i in np.searchsorted(years, [y, y + 1]))
                by_year[y] = data.slice(lo, hi - lo)
            self._parts[key] = by_year
            self._uses[key] = dict.fromkeys(span, uses)
        rows = self._parts[key][year]
        self._uses[key][year] -= 1
        if self._uses[key][year] <= 0:
            del self._parts[key][year]
        return rows

    def _table_year(
        self,
        year: int,
        span: Span,
        table: str,
        columns: tuple[ColumnMeta, ...],
        current: tuple[ColumnMeta, ...],
        cur_expr: ir.Table,
        off_columns: tuple[ColumnMeta, ...],
        off_expr: ir.Table,
        pid: str,
    ) -> pa.Table:
        """Rows of one table-year as conformed Arrow, sorted by the pseudonym. The year-T part
        is computed once for all tables of the span (publish asks for them year by year)."""
        cur = self._part("current", span, year, self._tables, cur_expr, current, pid)
        off = self._part(table, span, year, 1, off_expr, off_columns, pid)
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
        self._tables = len(plans)
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
        part_spans = spans(self.spec.years.years, self._part_rows)
        cur_exprs = {s: self.current_part(s, frames, mapping, pid, current) for s in part_spans}
        tables = []
        for spec, planned, _pid, offset, direction in plans:
            columns = self._columns(planned, pid, offset, direction)
            check_output_names([c.name for c in columns], spec.name)
            step, suffix, _ = OFFSETS[direction]
            off_columns = (columns[0], year_column, *columns[len(columns) - len(offset) :])
            years: dict[int, YearData] = {}
            year_notes: dict[int, tuple[str, ...]] = {}
            for span in part_spans:
                off_expr = self.offset_part(span, frames, mapping, pid, offset, direction)
                for y in span:
                    years[y] = partial(
                        self._table_year, y, span, spec.name, columns, cur_columns,
                        cur_exprs[span], off_columns, off_expr, pid,
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


def _count_years(frames: dict[int, ir.Table], f: ir.Table) -> int:
    return sum(1 for t in frames.values() if t is f)


def build(ctx: ExtractContext) -> list[OutputTable]:
    """The `person` builder of `kluis extract` (see kluis.extract.context.Builder)."""
    return PanelBuilder(ctx).build()
