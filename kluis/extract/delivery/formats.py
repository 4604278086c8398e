"""Output files: the builder's data in its final types, as Parquet, SPSS .sav and Stata .dta.

Every writer is deterministic: same rows in, same bytes out. Parquet uses fixed writer settings
and fixed row-group sizes (whatever batch sizes the engine streamed); SPSS and Stata headers
carry a creation timestamp, which is overwritten with a fixed one.

SPSS and Stata get integer codes with value labels (Stata can label integers only): category
code i = the i-th category of the column (1-based), booleans 0 = no, 1 = yes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kluis.errors import BadInput
from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery import FORMATS

__all__ = ["FORMATS", "OutputError", "arrow_schema", "conform_output", "write_sorted"]
ROW_GROUP = 500_000
_PARQUET = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "use_dictionary": True,
    "write_statistics": True,
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STATA_MAX = 32  # Stata's limit for names of variables and of value-label sets
BOOLEAN_LABELS = {0: "no", 1: "yes"}


class OutputError(BadInput, ValueError):
    """Data that does not fit its declared column (names the table, column and value)."""


def arrow_type(col: ColumnMeta) -> pa.DataType:
    """The Arrow type a column is written with."""
    return {
        "pseudonym": pa.int64(),
        "year": pa.int16(),
        "category": pa.dictionary(pa.int16(), pa.string()),
        "boolean": pa.bool_(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "yearmonth": pa.string(),
        "string": pa.string(),
    }[col.kind]


def arrow_schema(table: OutputTable) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in table.columns])


def _category(table: str, col: ColumnMeta, arr: pa.Array) -> pa.Array:
    values = pa.array([v for v, _ in col.categories], type=pa.string())
    if pa.types.is_dictionary(arr.type) and pa.types.is_string(arr.type.value_type):
        # each dictionary entry is looked up once, every row by its index (a Parquet column
        # read back has a handful of entries for thousands of rows)
        entries = pc.index_in(arr.dictionary, value_set=values)
        idx = pc.take(entries, arr.indices)
        unknown = pc.and_(pc.is_null(idx), pc.is_valid(arr.indices))
        if pc.any(unknown).as_py():
            bad = arr.dictionary[pc.filter(arr.indices, unknown)[0].as_py()].as_py()
            raise OutputError(f"{table}.{col.name}: value {bad!r} is not one of its categories")
        return pa.DictionaryArray.from_arrays(idx.cast(pa.int16()), values)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_integer(arr.type):
        lo, hi = pc.min(arr).as_py(), pc.max(arr).as_py()
        if lo is not None and (lo < 1 or hi > len(values)):
            bad = lo if lo < 1 else hi
            raise OutputError(f"{table}.{col.name}: code {bad} outside 1..{len(values)}")
        idx = pc.subtract(arr, 1).cast(pa.int16())
    else:
        arr = arr.cast(pa.string())
        idx = pc.index_in(arr, value_set=values)
        unknown = pc.and_(pc.is_null(idx), pc.is_valid(arr))
        if pc.any(unknown).as_py():
            bad = pc.filter(arr, unknown)[0].as_py()
            raise OutputError(f"{table}.{col.name}: value {bad!r} is not one of its categories")
        idx = idx.cast(pa.int16())
    return pa.DictionaryArray.from_arrays(idx, values)


def category_codes(table: str, col: ColumnMeta, arr: pa.Array) -> pa.Array:
    """0-based codes (int16) of a category column given as values or 1-based codes."""
    return _category(table, col, arr).indices


def _yearmonth(arr: pa.Array) -> pa.Array:
    """YYYYMM integers -> 'YYYY-MM' strings, formatting each distinct month once (a few
    hundred) rather than every row."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    enc = pc.dictionary_encode(arr)
    months = enc.dictionary
    if pa.types.is_integer(months.type):
        year = pc.divide(months, 100)
        mm = pc.utf8_lpad(pc.subtract(months, pc.multiply(year, 100)).cast(pa.string()), 2, "0")
        months = pc.binary_join_element_wise(year.cast(pa.string()), mm, "-")
    # plain strings out: a dictionary built in encounter order would depend on the engine's
    # row order, and so would the bytes of the file
    return pc.take(months.cast(pa.string()), enc.indices)


def conform_output(table: OutputTable, data: pa.Table) -> pa.Table:
    """The builder's rows in the declared column order and output types (data that already
    has them is passed through)."""
    schema = arrow_schema(table)
    if data.schema.equals(schema):
        return data
    missing = [c.name for c in table.columns if c.name not in data.column_names]
    if missing:
        raise OutputError(f"table {table.name}: builder returned no column(s) {missing}")
    arrays = []
    for col in table.columns:
        arr = data.column(col.name).combine_chunks()
        if col.kind == "category":
            arr = _category(table.name, col, arr)
        elif col.kind == "yearmonth":
            arr = _yearmonth(arr)
        else:
            arr = arr.cast(arrow_type(col))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def write_sorted(data: pa.Table, path: Path, sort_by: tuple[str, ...]) -> int:
    """Write a conformed table sorted by `sort_by` in fixed-size row groups (a row group at a
    time is gathered, so memory holds the data once). `sort_by` must identify a row, or the
    order — and so the bytes — would depend on the engine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = data.num_rows
    order = None
    if n > 1 and len(sort_by) == 1 and data.column(sort_by[0]).null_count == 0:
        key = data.column(sort_by[0])  # already strictly increasing: sorted and unique
        if pc.all(pc.greater(key.slice(1), key.slice(0, n - 1))).as_py():
            order = pa.array(range(n), pa.int64())
    if order is None and n:
        # Arrow cannot sort dictionary columns: sort classes by their code (category order)
        keys = pa.table(
            {
                k: (c.combine_chunks().indices if pa.types.is_dictionary(c.type) else c)
                for k, c in ((k, data.column(k)) for k in sort_by)
            }
        )
        order = pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in sort_by])
    in_order = order is not None and n > 1 and order.equals(pa.array(range(n), pa.int64()))
    if n > 1 and not in_order:
        same = None
        for k in sort_by:
            col = data.column(k).take(order)
            eq = pc.fill_null(pc.equal(col.slice(1), col.slice(0, n - 1)), False)
            both_null = pc.and_(pc.is_null(col.slice(1)), pc.is_null(col.slice(0, n - 1)))
            eq = pc.or_(eq, both_null)
            same = eq if same is None else pc.and_(same, eq)
        if pc.any(same).as_py():
            raise OutputError(f"{path.name}: rows are not identified by {', '.join(sort_by)}")
    # statistics only for the sort keys: readers scan whole files; the rest costs a third of
    # the writing time at national scale
    settings = {**_PARQUET, "write_statistics": list(sort_by)}
    with pq.ParquetWriter(path, data.schema, **settings) as writer:
        if n == 0:
            writer.write_table(data, row_group_size=ROW_GROUP)
        for start in range(0, n, ROW_GROUP):
            if in_order:
                chunk = data.slice(start, ROW_GROUP)
            else:
                chunk = data.take(order.slice(start, ROW_GROUP))
            writer.write_table(chunk, row_group_size=ROW_GROUP)
    return n


def value_label(value: str, label: str) -> str:
    """Text of a value label in SPSS/Stata: the value, plus its label when that says more."""
    return value if not label or label == value else f"{value} {label}"


def check_names(table: OutputTable, limit: int, fmt: str) -> None:
    for col in table.columns:
        if not _NAME.match(col.name) or len(col.name) > limit:
            raise OutputError(
                f"table {table.name}: column name {col.name!r} is not valid in {fmt} "
                f"(letters, digits, _; at most {limit} characters)"
            )


def stata_names(table: OutputTable) -> dict[str, str]:
    """Column name -> Stata name. The writer names each value-label set after its variable plus
    a counter (0, 1, ... per labelled variable) and Stata allows 32 characters for that, so
    names are cut to 32 minus the counter's digits. Longer names keep their suffix after the
    last underscore (e.g. `_next`) and lose characters before it; listed in the codebook."""
    labelled = sum(1 for c in table.columns if c.kind in ("category", "boolean"))
    limit = STATA_MAX - len(str(max(labelled - 1, 0)))
    out: dict[str, str] = {}
    for col in table.columns:
        name = col.name
        if len(name) > limit:
            head, sep, tail = name.rpartition("_")
            if not sep or len(tail) >= limit - 2:
                name = name[:limit]
            else:
                name = head[: limit - len(tail) - 1] + "_" + tail
        out[col.name] = name
    taken = list(out.values())
    dup = sorted({n for n in taken if taken.count(n) > 1})
    if dup:
        raise OutputError(f"table {table.name}: Stata names collide after shortening: {dup}")
    return out


def write_sav(table: OutputTable, data: pa.Table, path: Path) -> bool:
    """SPSS .sav (kluis.extract.delivery.statfiles; pandas and pyreadstat load only here)."""
    from kluis.extract.delivery import statfiles

    return statfiles.write_sav(table, data, path)


def write_dta(table: OutputTable, data: pa.Table, path: Path) -> bool:
    """Stata .dta (kluis.extract.delivery.statfiles)."""
    from kluis.extract.delivery import statfiles

    return statfiles.write_dta(table, data, path)


def clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes (the formats count bytes, not characters)."""
    raw = text.encode("utf-8")[:limit]
    return raw.decode("utf-8", errors="ignore")
