"""The rows of the person-year tables, from the staged frames (kluis.extract.panels.frames).

A table-year is put together from two parts: the year-T part (pseudonym, year, the variables
at T), shared by every table of that year, and the table's own T±1 part (its next- or
previous-year variables). Each part is one query for a whole span of years, executed once,
conformed to its output types and cut into years sorted by the pseudonym; publish then asks
for the table-years in order, and each year's rows are let go after their last use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from kluis.engine import Engine
from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery.formats import arrow_schema, conform_output
from kluis.extract.derive import INPUTS as DERIVED_INPUTS
from kluis.extract.derive import derive
from kluis.extract.panels.frames import IN_POP, NULL_TYPE, Cuts, coarsened_in_year
from kluis.extract.plan import Planned
from kluis.extract.warehouse import WarehouseTables

# direction -> (step in years, column suffix, label suffix)
OFFSETS = {"next": (1, "_next", " (T+1)"), "previous": (-1, "_prev", " (T−1)")}
Span = tuple[int, ...]


def frame_rows(
    frames: Mapping[int, ir.Table], years: Sequence[int], columns: Sequence[str]
) -> ir.Table | None:
    """The rows of `years` from the staged frames holding them (`columns` of each), or None
    when no frame holds any of them."""
    present = [y for y in years if y in frames]
    if not present:
        return None
    parts = []
    for f in {id(frames[y]): frames[y] for y in present}.values():
        mine = [y for y in present if frames[y] is f]
        held = sum(1 for t in frames.values() if t is f)
        rows = f.filter(f.year.isin(mine)) if len(mine) < held else f
        parts.append(rows.select(*dict.fromkeys(["insz", "year", IN_POP, *columns])))
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


class Parts:
    """The parts of the tables of one extract run."""

    def __init__(
        self,
        engine: Engine,
        wh: WarehouseTables,
        frames: Mapping[int, ir.Table],
        mapping: ir.Table,
        pid: str,
        cuts: Callable[[Planned, Sequence[int]], dict[int, Cuts]],
        tables: int,
    ) -> None:
        self.engine = engine
        self.wh = wh
        self.frames = frames
        self.mapping = mapping  # map_insz -> map_seq: the pseudonyms (of the sample)
        self.pid = pid
        self.cuts = cuts
        self.tables = tables  # tables sharing the year-T part
        # (part, span) -> rows of each year of the span not yet used up, and uses left
        self._rows: dict[tuple[str, Span], dict[int, pa.Table]] = {}
        self._uses: dict[tuple[str, Span], dict[int, int]] = {}

    # -- expressions ---------------------------------------------------------------------------

    def _base(self, span: Span, columns: Sequence[str]) -> ir.Table:
        """The population of the span's years in their frames, restricted to the pseudonym map
        (the sample in the development phase), with the sequence number."""
        f = frame_rows(self.frames, span, columns)
        assert f is not None
        base = f.filter(f[IN_POP])
        return base.join(self.mapping, base.insz == self.mapping.map_insz)

    def current(self, span: Span, current: list[Planned]) -> ir.Table:
        """Pseudonym, year and the variables coarsened at T: shared by every table of T."""
        base = self._base(span, [p.name for p in current])
        values: dict[str, ir.Value] = {
            self.pid: base.map_seq.cast("int64"),
            "year": base.year.cast("int16"),
        }
        values.update({p.name: base[p.name] for p in current})
        return base.select(**values)

    def offset(self, span: Span, offset: list[Planned], direction: str) -> ir.Table:
        """Pseudonym, year and the T±1 variables: the frames of T±1 left-joined on the
        population of T; derived values (e.g. death in T+1) from the persons columns of the
        year-T row."""
        step, suffix, _ = OFFSETS[direction]
        stored = [p for p in offset if p.source.kind != "derived"]
        derived = [p for p in offset if p.source.kind == "derived"]
        base = self._base(span, [c for p in derived for c in DERIVED_INPUTS[p.source.column]])
        other = frame_rows(self.frames, [y + step for y in span], [p.name for p in stored])
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
            self.pid: base.map_seq.cast("int64"),
            "year": base.year.cast("int16"),
        }
        for p in offset:
            name = p.name + suffix
            if p.source.kind == "derived":
                values[name] = self._derived(base, p, span, covered, step)
            elif other is None:
                values[name] = ibis.null(NULL_TYPE[p.kind])
            else:
                values[name] = base[name]
        return base.select(**values)

    def _derived(
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

    # -- rows ----------------------------------------------------------------------------------

    def _take(
        self,
        name: str,
        span: Span,
        year: int,
        uses: int,
        expr: ir.Table,
        columns: tuple[ColumnMeta, ...],
    ) -> pa.Table:
        """The rows of `year` of a part, computed with the whole span when first asked for;
        let go after their `uses`-th use, so a national population holds no more than one
        year's parts at a time."""
        key = (name, span)
        if year not in self._rows.get(key, {}):
            for old in [k for k in self._rows if k[1] != span]:
                del self._rows[old]
            part = OutputTable("part", columns, {}, (self.pid,))
            chunks = [conform_output(part, b) for b in self.engine.to_batches(expr) if b.num_rows]
            data = pa.concat_tables(chunks) if chunks else arrow_schema(part).empty_table()
            data = data.sort_by([("year", "ascending"), (self.pid, "ascending")])
            years = data.column("year").to_numpy()
            by_year = {}
            for y in span:
                lo, hi = (int(i) for i in np.searchsorted(years, [y, y + 1]))
                by_year[y] = data.slice(lo, hi - lo)
            self._rows[key] = by_year
            self._uses[key] = dict.fromkeys(span, uses)
        rows = self._rows[key][year]
        self._uses[key][year] -= 1
        if self._uses[key][year] <= 0:
            del self._rows[key][year]
        return rows

    def table_year(
        self,
        year: int,
        span: Span,
        table: str,
        columns: tuple[ColumnMeta, ...],
        current: tuple[ColumnMeta, ...],
        cur_expr: ir.Table,
        off_columns: tuple[ColumnMeta, ...],
        off_expr: ir.Table,
    ) -> pa.Table:
        """Rows of one table-year as conformed Arrow, sorted by the pseudonym: the year-T part
        (computed once for all tables of the span) beside the table's T±1 part."""
        cur = self._take("current", span, year, self.tables, cur_expr, current)
        off = self._take(table, span, year, 1, off_expr, off_columns)
        if not cur.column(self.pid).equals(off.column(self.pid)):
            raise RuntimeError(f"year {year}: parts of the table do not align on {self.pid}")
        names = [c.name for c in columns]
        arrays = [cur.column(n) if n in cur.column_names else off.column(n) for n in names]
        return pa.Table.from_arrays(arrays, names=names)
