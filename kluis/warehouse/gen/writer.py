"""Turn generated columns into Arrow with exactly the declared schema and write Parquet with fixed
settings, in row groups, so the same data always gives the same bytes and memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.schema import table as schema_table
from kluis.warehouse.identifiers import digits_to_arrow

ROW_GROUP = 1 << 20
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


@dataclass(frozen=True)
class Codes:
    """A code column: indices into `codes` (-1 = null)."""

    index: np.ndarray
    codes: tuple[str, ...]

    def __post_init__(self) -> None:  # small integers: a held year of columns stays small
        object.__setattr__(self, "index", np.asarray(self.index).astype(np.int16, copy=False))


@dataclass(frozen=True)
class Digits:
    """An identifier column held as integers, written as zero-padded digit strings."""

    number: np.ndarray
    width: int


@dataclass(frozen=True)
class Values:
    """A plain column; `null` marks missing entries (NaN floats are null too). Floats rounded to
    `decimals` are held as float32 when that loses nothing after rounding back."""

    data: np.ndarray
    null: np.ndarray | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if self.decimals is not None and data.dtype.kind == "f":
            data = np.round(data, self.decimals)
            finite = data[np.isfinite(data)]
            if finite.size == 0 or np.abs(finite).max() < 10 ** (6 - self.decimals):
                data = data.astype(np.float32)
        object.__setattr__(self, "data", data)
        if self.null is not None:
            object.__setattr__(self, "null", pa.array(np.asarray(self.null, dtype=bool)))


Column = Codes | Digits | Values | np.ndarray


def _arrow(col: Column, sl: slice | np.ndarray, typ: pa.DataType) -> pa.Array:
    """Rows `sl` (a slice or an array of positions) of a column as an Arrow array of `typ`."""
    if isinstance(col, Codes):
        idx = col.index[sl]
        dictionary = pa.array(list(col.codes), type=pa.string())
        return dictionary.take(pa.array(idx.astype(np.int32), mask=idx < 0))
    if isinstance(col, Digits):
        return digits_to_arrow(col.number[sl], col.width)
    if isinstance(col, Values):
        data = col.data[sl]
        if col.decimals is not None:
            data = np.round(data.astype(np.float64), col.decimals)
        mask = None if col.null is None else _take(col.null, sl).to_numpy(zero_copy_only=False)
        if data.dtype.kind == "f":
            nan = np.isnan(data)
            mask = nan if mask is None else (mask | nan)
        if typ == pa.date32():
            return pa.array(
                data.astype(np.int32),
                type=pa.int32(),
                mask=mask if mask is not None and mask.any() else None,
            ).view(pa.date32())
        return pa.array(data, mask=mask if mask is not None and mask.any() else None).cast(typ)
    if isinstance(col, pa.Array):
        return _take(col, sl).cast(typ)
    return pa.array(np.asarray(col)[sl]).cast(typ)


def _take(arr: pa.Array, sl: slice | np.ndarray) -> pa.Array:
    if isinstance(sl, slice):
        return arr.slice(sl.start, sl.stop - sl.start)
    return arr.take(pa.array(sl))


def write_table(
    path: Path, table: str, columns: dict[str, Column], n_rows: int, order: np.ndarray | None = None
) -> int:
    """Write `columns` (in `order`, if given) as the declared table to `path`; returns rows."""
    schema = schema_table(table).arrow_schema
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise ValueError(f"{table}: generated columns differ from the schema: {sorted(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
        for start in range(0, max(n_rows, 1), ROW_GROUP):
            stop = min(start + ROW_GROUP, n_rows)
            sl = slice(start, stop) if order is None else order[start:stop]
            arrays = [_arrow(columns[f.name], sl, f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return n_rows


@dataclass(frozen=True)
class TableJob:
    """A table ready to be written: columns assembled, nothing shared with the simulation."""

    path: Path
    table: str
    columns: dict[str, Column]
    n_rows: int
    order: np.ndarray | None = None

    def __post_init__(self) -> None:
        # held while the next year is simulated: booleans bit-packed, positions as int32
        packed = {
            k: pa.array(v) if isinstance(v, np.ndarray) and v.dtype == bool else v
            for k, v in self.columns.items()
        }
        object.__setattr__(self, "columns", packed)
        if self.order is not None:
            object.__setattr__(self, "order", self.order.astype(np.int32))

    def run(self) -> int:
        return write_table(self.path, self.table, self.columns, self.n_rows, self.order)


Progress = Callable[[str, int, int], None]
