"""SPSS .sav and Stata .dta files: pyreadstat writes the dictionary, numpy the data.

pyreadstat (ReadStat) writes both formats, but it reads the data frame cell by cell in Python
(~1 µs a cell: 14 s for the development extract's 28 files of 10,000 rows × 149 columns). The
data block of both formats is a plain fixed-width record per row, so it is written here with
numpy instead, while everything else — header, variables, formats, labels, value labels — still
comes from pyreadstat: it writes the same data frame cut down to a few *template* rows (the row
holding each text column's longest value, a missing value of each column that has one), and
the template's data block is replaced by the full one, with the row counts patched. Every file
checks itself: the template's own rows, encoded here, must equal the bytes pyreadstat wrote for
them, and the layout must add up; otherwise the file is written by pyreadstat alone. The result
is byte for byte what pyreadstat writes for the whole frame (tests/unit/extract/test_statfiles).

SPSS and Stata get integer codes with value labels (Stata can label integers only): category
code i = the i-th category of the column (1-based), booleans 0 = no, 1 = yes. Nulls are
system-missing (SPSS) or `.` (Stata); null text is the empty string.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kluis.extract.context import OutputTable
from kluis.extract.delivery.formats import (
    BOOLEAN_LABELS,
    OutputError,
    category_codes,
    check_names,
    clip,
    stata_names,
    value_label,
)
from kluis.extract.delivery.statrecords import (
    CHUNK_ROWS,
    DTA_MAX,
    Column,
    Layout,
    Mismatch,
    Rows,
    data_start,
    dta_splice,
    encode,
    layout,
    sav_splice,
    write_records,
)

_FIXED_SAV_STAMP = b"01 Jan 7000:00:00"  # creation date (9 bytes) + time (8 bytes)
_FIXED_DTA_STAMP = b"01 Jan 1970 00:00"


def _columns(table: OutputTable, data: pa.Table) -> tuple[list[Column], dict]:
    """The statistical form of every column, plus the value labels per column. The .sav and
    the .dta file of a table-year are written one after the other from the same data: the
    result is kept for the second, and forgotten as soon as the caller lets go of `data`."""
    last = _LAST.get("columns")
    if last is not None and last[0]() is data and last[1] is table:
        return last[2], last[3]
    columns, labels = _convert(table, data)
    _LAST["columns"] = (weakref.ref(data, _forget), table, columns, labels)
    return columns, labels


_LAST: dict[str, tuple] = {}


def _forget(ref: weakref.ref) -> None:
    if _LAST.get("columns", (None,))[0] is ref:
        _LAST.clear()


def _convert(table: OutputTable, data: pa.Table) -> tuple[list[Column], dict]:
    out: list[Column] = []
    labels: dict[str, dict[int, str]] = {}
    for col in table.columns:
        arr = data.column(col.name).combine_chunks()
        if col.kind == "category":
            # re-derive codes from values: a dictionary read back may be ordered differently
            out.append(_numeric(col.name, pc.add(category_codes(table.name, col, arr), 1)))
            labels[col.name] = {
                i + 1: value_label(v, lab) for i, (v, lab) in enumerate(col.categories)
            }
        elif col.kind == "boolean":
            out.append(_numeric(col.name, arr.cast(pa.int8())))
            labels[col.name] = dict(BOOLEAN_LABELS)
        elif col.kind in ("yearmonth", "string"):
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            enc = pc.dictionary_encode(arr.cast(pa.string()).fill_null(""))
            texts = [v.encode("utf-8") for v in enc.dictionary.to_pylist()]
            indices = enc.indices.to_numpy(zero_copy_only=False)
            out.append(Column(col.name, texts=texts, indices=indices))
        else:
            out.append(_numeric(col.name, arr))
    return out, labels


def _numeric(name: str, arr: pa.Array) -> Column:
    """Integers stay integers for pyreadstat unless there are nulls (then float, NaN =
    missing); both are written as doubles."""
    integer = not (arr.null_count or pa.types.is_floating(arr.type))
    converted = None
    if len(arr) <= CHUNK_ROWS:
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        converted = (values, np.isnan(values))
    return Column(name, numbers=arr, integer=integer, converted=converted)


def _frame(
    columns: list[Column], n: int, rows: Rows | None = None, template: bool = False
):  # -> pd.DataFrame
    """The pandas frame pyreadstat reads (all rows, or the given ones). Text is object dtype:
    pandas 3 would make it Arrow-backed strings, which the writers handle differently. A
    template gives every number as float64: pyreadstat writes int64 and float64 columns alike
    (as doubles), so one template serves the years whose columns differ only in that."""
    import pandas as pd

    rows = range(n) if rows is None else rows
    frame = {}
    for c in columns:
        if c.texts is not None:
            texts = [t.decode("utf-8") for t in c.texts]
            frame[c.name] = pd.Series([texts[i] for i in c.text_indices(rows)], dtype=object)
        else:
            values, _missing = c.doubles(rows)
            frame[c.name] = values.astype(np.int64) if c.integer and not template else values
    return pd.DataFrame(frame)


def _template_rows(columns: list[Column], n: int) -> np.ndarray:
    """Rows that fix everything pyreadstat derives from the data (text widths) and show every
    kind of value the fast path encodes (a missing value of each column that has one)."""
    rows = {0}
    for c in columns:
        if c.texts is not None:
            longest = int(np.argmax([len(t) for t in c.texts]))
            rows.add(int(np.argmax(c.indices == longest)))
        elif (first := c.first_missing()) >= 0:
            rows.add(first)
    return np.array(sorted(r for r in rows if r < n), dtype=np.int64)


# -- the data block ----------------------------------------------------------------------------


def _template_bytes(write: Callable[[object, str], None], frame: object, like: Path) -> bytes:
    """What pyreadstat writes for `frame`, read back (written beside the target)."""
    fd, name = tempfile.mkstemp(prefix=f".{like.name}.", suffix=".template", dir=like.parent)
    os.close(fd)
    try:
        write(frame, name)
        return Path(name).read_bytes()
    finally:
        os.unlink(name)


def _header(
    columns: list[Column],
    n: int,
    write: Callable[[object, str], None],
    fmt: str,
    shape: Layout,
    path: Path,
    key: tuple,
) -> tuple[bytes, bytes]:
    """Head and tail of the file around its n data records: from a template pyreadstat writes
    and this module checks, or from the same template made for an earlier file with the same
    dictionary (`key`: the years of a table differ only in their rows)."""
    cached = _TEMPLATES.get(key)
    if cached is None:
        rows = _template_rows(columns, n)
        template = _template_bytes(write, _frame(columns, n, rows, template=True), path)
        start = data_start(template, len(rows), shape, fmt)
        encoded = encode(columns, shape, rows).tobytes()
        if template[start : start + len(rows) * shape.row_len] != encoded:
            raise Mismatch("the template rows encode differently")
        cached = (template, len(rows))
        if len(_TEMPLATES) >= 64:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = cached
    template, k = cached
    splice = sav_splice if fmt == "sav" else dta_splice
    return splice(template, k, n, shape)


# dictionary key -> (checked template, its rows): one pyreadstat call per table and format
_TEMPLATES: dict[tuple, tuple[bytes, int]] = {}


def _write(
    path: Path,
    columns: list[Column],
    n: int,
    write: Callable[[object, str], None],
    fmt: str,
    stamp: Callable[[Path, bytes], bytes],
    key: tuple,
) -> bool:
    """Write the file; True when the fast path did, False when pyreadstat wrote it all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if n == 0:
            raise Mismatch("no rows")
        shape = layout(columns, fmt)
        if fmt == "dta" and any(_too_large_for_stata(c) for c in columns):
            raise Mismatch("a value Stata cannot hold: pyreadstat says which")
        head, tail = _header(columns, n, write, fmt, shape, path, key)
    except Mismatch:
        write(_frame(columns, n), str(path))
        path.write_bytes(stamp(path, path.read_bytes()))
        return False
    write_records(path, stamp(path, head), tail, columns, shape, n)
    return True


def _too_large_for_stata(c: Column) -> bool:
    """A number above Stata's largest double (only floats can be: +inf, or ~9e307)."""
    if c.numbers is None or not pa.types.is_floating(c.numbers.type):
        return False
    values = c.numbers.to_numpy(zero_copy_only=False)
    return bool(np.any(values[~np.isnan(values)] > DTA_MAX))


def _stamp_sav(path: Path, head: bytes) -> bytes:
    """The creation date and time in the header (offset 92) made fixed: same rows, same bytes."""
    return head[:92] + _FIXED_SAV_STAMP + head[92 + len(_FIXED_SAV_STAMP) :]


def _stamp_dta(path: Path, head: bytes) -> bytes:
    """The header's timestamp made fixed."""
    at = head.find(b"<timestamp>", 0, 4096)
    if at < 0:
        raise OutputError(f"{path}: unexpected Stata header (no timestamp)")
    start = at + len(b"<timestamp>") + 1  # one length byte precedes the text
    if head[start - 1] != len(_FIXED_DTA_STAMP):
        raise OutputError(f"{path}: unexpected Stata timestamp length")
    return head[:start] + _FIXED_DTA_STAMP + head[start + len(_FIXED_DTA_STAMP) :]


def _dictionary_key(table: OutputTable, columns: list[Column]) -> tuple:
    """Everything the header and dictionary of a file are made from: the declared columns
    (names, kinds, labels, categories) and what pyreadstat reads from the data — each text
    column's width."""
    declared = tuple((c.name, c.kind, c.label, c.categories) for c in table.columns)
    derived = tuple((c.name, c.width) for c in columns if c.texts is not None)
    return declared, derived


def write_sav(table: OutputTable, data: pa.Table, path: Path) -> bool:
    """Write `data` as an SPSS .sav file (uncompressed). True when written by the fast path."""
    import pyreadstat

    check_names(table, 64, "SPSS")
    columns, labels = _columns(table, data)

    def write(frame: object, target: str) -> None:
        pyreadstat.write_sav(
            frame,
            target,
            column_labels={c.name: clip(c.label, 256) for c in table.columns},
            variable_value_labels=labels,
            file_label=table.name,
        )

    key = ("sav", _dictionary_key(table, columns), table.name)
    return _write(Path(path), columns, data.num_rows, write, "sav", _stamp_sav, key)


def write_dta(table: OutputTable, data: pa.Table, path: Path) -> bool:
    """Write `data` as a Stata .dta file (format 119, Stata 15+), columns renamed by
    `stata_names`. True when written by the fast path."""
    import pyreadstat

    check_names(table, 10_000, "Stata")
    names = stata_names(table)
    columns, labels = _columns(table, data)
    columns = [replace(c, name=names[c.name]) for c in columns]
    labels = {names[k]: v for k, v in labels.items()}

    def write(frame: object, target: str) -> None:
        pyreadstat.write_dta(
            frame,
            target,
            column_labels={names[c.name]: clip(c.label, 80) for c in table.columns},
            variable_value_labels=labels,
            file_label=clip(table.name, 80),
        )

    key = ("dta", _dictionary_key(table, columns), table.name)
    return _write(Path(path), columns, data.num_rows, write, "dta", _stamp_dta, key)
