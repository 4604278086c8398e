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


@dataclass(frozen=True)
class Digits:
    """An identifier column held as integers, written as zero-padded digit strings."""

    number: np.ndarray
    width: int


@dataclass(frozen=True)
class Values:
    """A plain column; `null` marks missing entries (NaN floats are null too)."""

    data: np.ndarray
    null: np.ndarray | None = None


Column = Codes | Digits | Values | np.ndarray


def _arrow(col: Column, sl: slice, typ: pa.DataType) -> pa.Array:
    if isinstance(col, Codes):
        idx = col.index[sl]
        dictionary = pa.array(list(col.codes), type=pa.string())
        return dictionary.take(pa.array(idx.astype(np.int32), mask=idx < 0))
    if isinstance(col, Digits):
        return digits_to_arrow(col.number[sl], col.width)
    if isinstance(col, Values):
        data = col.data[sl]
        mask = None if col.null is None else col.null[sl]
        if data.dtype.kind == "f":
            nan = np.isnan(data)
            mask = nan if mask is None else (mask | nan)
        if typ == pa.date32():
            return pa.array(data.astype(np.int32), type=pa.int32(),
                            mask=mask if mask is not None and mask.any() else None).view(pa.date32())
        return pa.array(data, mask=mask if mask is not None and mask.any() else None).cast(typ)
    if isinstance(col, pa.Array):
        return col.slice(sl.start, sl.stop - sl.start).cast(typ)
    return pa.array(np.asarray(col)[sl]).cast(typ)


def write_table(path: Path, table: str, columns: dict[str, Column], n_rows: int,
                order: np.ndarray | None = None) -> int:
    """Write `columns` (in `order`, if given) as the declared table to `path`; returns rows."""
    schema = schema_table(table).arrow_schema
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise ValueError(f"{table}: generated columns differ from the schema: {sorted(missing)}")
    if order is not None:
        columns = {k: _reorder(v, order) for k, v in columns.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, **PARQUET_OPTIONS) as writer:
        for start in range(0, max(n_rows, 1), ROW_GROUP):
            sl = slice(start, min(start + ROW_GROUP, n_rows))
            arrays = [_arrow(columns[f.name], sl, f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return n_rows


def _reorder(col: Column, order: np.ndarray) -> Column:
    if isinstance(col, Codes):
        return Codes(col.index[order], col.codes)
    if isinstance(col, Digits):
        return Digits(col.number[order], col.width)
    if isinstance(col, Values):
        return Values(col.data[order], None if col.null is None else col.null[order])
    if isinstance(col, pa.Array):
        return col.take(pa.array(order))
    return np.asarray(col)[order]


Progress = Callable[[str, int, int], None]
