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
import struct
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
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

_FIXED_SAV_STAMP = b"01 Jan 7000:00:00"  # creation date (9 bytes) + time (8 bytes)
_FIXED_DTA_STAMP = b"01 Jan 1970 00:00"
_SAV_MISSING = 0xFFEFFFFFFFFFFFFF  # ReadStat's SAV_MISSING_DOUBLE (-DBL_MAX): system-missing
_DTA_MISSING = 0x7FE0000000000000  # ReadStat's DTA_113_MISSING_DOUBLE: Stata's `.`
_DTA_MAX = struct.unpack("<d", struct.pack("<q", 0x7FDFFFFFFFFFFFFF))[0]  # largest valid double
_SAV_MAX_FAST_TEXT = 255  # longer SPSS strings are split into segments: pyreadstat writes them
_DTA_MAX_FAST_TEXT = 2044  # from 2045 bytes Stata stores strL references: pyreadstat writes them
_CHUNK_ROWS = 65_536  # rows encoded at a time (memory stays a few tens of MB)


class _Mismatch(Exception):
    """The spliced file would not be what pyreadstat writes: write it with pyreadstat."""


Rows = range | np.ndarray  # a contiguous run of rows, or chosen rows


@dataclass(frozen=True)
class _Column:
    """One column as the files hold it: numbers (kept in their compact Arrow type until a
    chunk of rows is encoded; null or NaN = missing) or text (each distinct value once as
    UTF-8, plus per-row indices)."""

    name: str
    numbers: pa.Array | None = None
    integer: bool = False  # pyreadstat is given int64 (no missing values) rather than float64
    texts: list[bytes] | None = None
    indices: np.ndarray | None = None
    # a table that fits in one chunk: its doubles, converted once for both formats
    converted: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def width(self) -> int:
        """Text: the longest value in bytes, at least 1 (as pyreadstat measures it)."""
        assert self.texts is not None
        return max([1, *(len(t) for t in self.texts)])

    def doubles(self, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
        """The values of `rows` as float64, and which of them are missing."""
        assert self.numbers is not None
        if self.converted is not None:
            values, missing = self.converted
            if isinstance(rows, range):
                return values[rows.start : rows.stop], missing[rows.start : rows.stop]
            return values[rows], missing[rows]
        if isinstance(rows, range):
            arr = self.numbers.slice(rows.start, len(rows))
        else:
            arr = self.numbers.take(pa.array(rows))
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)  # null -> NaN
        return values, np.isnan(values)

    def text_indices(self, rows: Rows) -> np.ndarray:
        assert self.indices is not None
        return (
            self.indices[rows.start : rows.stop] if isinstance(rows, range) else self.indices[rows]
        )

    def first_missing(self) -> int:
        """The first missing row, or -1."""
        assert self.numbers is not None
        return pc.index(pc.is_null(self.numbers, nan_is_null=True), True).as_py()


def _columns(table: OutputTable, data: pa.Table) -> tuple[list[_Column], dict]:
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


def _convert(table: OutputTable, data: pa.Table) -> tuple[list[_Column], dict]:
    out: list[_Column] = []
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
            out.append(_Column(col.name, texts=texts, indices=indices))
        else:
            out.append(_numeric(col.name, arr))
    return out, labels


def _numeric(name: str, arr: pa.Array) -> _Column:
    """Integers stay integers for pyreadstat unless there are nulls (then float, NaN =
    missing); both are written as doubles."""
    integer = not (arr.null_count or pa.types.is_floating(arr.type))
    converted = None
    if len(arr) <= _CHUNK_ROWS:
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        converted = (values, np.isnan(values))
    return _Column(name, numbers=arr, integer=integer, converted=converted)


def _frame(
    columns: list[_Column], n: int, rows: Rows | None = None, template: bool = False
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


def _template_rows(columns: list[_Column], n: int) -> np.ndarray:
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


@dataclass(frozen=True)
class _Layout:
    """Where each column sits in a row, and how a text is padded."""

    offsets: tuple[int, ...]
    widths: tuple[int, ...]  # bytes in the row
    row_len: int
    pad: bytes  # SPSS pads text with spaces, Stata with NUL bytes
    missing: int  # bit pattern of a missing double


def _layout(columns: list[_Column], fmt: str) -> _Layout:
    offsets, widths, at = [], [], 0
    for c in columns:
        if c.texts is None:
            w = 8
        elif fmt == "sav":
            if c.width > _SAV_MAX_FAST_TEXT:
                raise _Mismatch(f"{c.name}: text longer than {_SAV_MAX_FAST_TEXT} bytes")
            w = (c.width + 7) // 8 * 8
        else:
            if c.width > _DTA_MAX_FAST_TEXT:
                raise _Mismatch(f"{c.name}: text longer than {_DTA_MAX_FAST_TEXT} bytes")
            w = c.width
        offsets.append(at)
        widths.append(w)
        at += w
    pad, missing = (b" ", _SAV_MISSING) if fmt == "sav" else (b"\0", _DTA_MISSING)
    return _Layout(tuple(offsets), tuple(widths), at, pad, missing)


def _encode(columns: list[_Column], layout: _Layout, rows: Rows) -> np.ndarray:
    """The data records of `rows`: doubles in little-endian order (both formats say so in
    their headers on this machine), missing values as the format's bit pattern, text padded.
    One record per row of a structured array, a field per column at its offset (a field is
    filled in one strided copy, several times faster than byte slices)."""
    fields = {
        "names": [f"c{i}" for i in range(len(columns))],
        "formats": [
            "<u8" if c.texts is None else (np.uint8, (w,))
            for c, w in zip(columns, layout.widths, strict=True)
        ],
        "offsets": list(layout.offsets),
        "itemsize": layout.row_len,
    }
    records = np.zeros(len(rows), dtype=np.dtype(fields))
    for i, c in enumerate(columns):
        if c.texts is None:
            values, missing = c.doubles(rows)
            bits = values.astype("<f8").view("<u8")
            bits[missing] = layout.missing
            records[f"c{i}"] = bits
        else:
            w = layout.widths[i]
            # ReadStat copies C strings: a text ends at its first NUL byte
            padded = np.frombuffer(
                b"".join(t.split(b"\0", 1)[0].ljust(w, layout.pad) for t in c.texts),
                dtype=np.uint8,
            ).reshape(len(c.texts), w)
            records[f"c{i}"] = padded[c.text_indices(rows)]
    return records


def _write_spliced(
    path: Path, head: bytes, tail: bytes, columns: list[_Column], layout: _Layout, n: int
) -> None:
    with open(path, "wb") as fh:
        fh.write(head)
        for start in range(0, n, _CHUNK_ROWS):
            rows = range(start, min(n, start + _CHUNK_ROWS))
            fh.write(memoryview(_encode(columns, layout, rows)))
        fh.write(tail)


def _template_bytes(write: Callable[[object, str], None], frame: object, like: Path) -> bytes:
    """What pyreadstat writes for `frame`, read back (written beside the target)."""
    fd, name = tempfile.mkstemp(prefix=f".{like.name}.", suffix=".template", dir=like.parent)
    os.close(fd)
    try:
        write(frame, name)
        return Path(name).read_bytes()
    finally:
        os.unlink(name)


def _u(fmt: str, raw: bytes, at: int) -> int:
    return struct.unpack_from(fmt, raw, at)[0]


def _sav_splice(template: bytes, k: int, n: int, layout: _Layout) -> tuple[bytes, bytes]:
    """Header and dictionary of a k-row template, with the row count made n; the tail is empty
    (an uncompressed .sav file ends with its data)."""
    start = len(template) - k * layout.row_len
    # ... dictionary | number-of-cases record (7, 16, 8, 2, 1, k) | termination (999, 0) | data
    if (
        start < 256
        or _u("<i", template, 80) != k
        or template[start - 8 : start] != struct.pack("<ii", 999, 0)
        or template[start - 40 : start - 8] != struct.pack("<iiiiqq", 7, 16, 8, 2, 1, k)
    ):
        raise _Mismatch("unexpected .sav layout")
    head = bytearray(template[:start])
    struct.pack_into("<i", head, 80, n)
    struct.pack_into("<q", head, start - 16, n)
    return bytes(head), b""


def _dta_splice(template: bytes, k: int, n: int, layout: _Layout) -> tuple[bytes, bytes]:
    """Everything before and after the data records of a k-row template (format 119), with
    the row count made n and the section offsets after the data moved."""
    at_n = template.find(b"<N>")
    at_map = template.find(b"<map>")
    if at_n < 0 or at_map < 0:
        raise _Mismatch("unexpected .dta layout")
    offsets = list(struct.unpack_from("<14Q", template, at_map + 5))
    start = offsets[9] + len(b"<data>")
    end = start + k * layout.row_len
    if (
        _u("<Q", template, at_n + 3) != k
        or template[offsets[9] : start] != b"<data>"
        or template[end : end + 7] != b"</data>"
        or offsets[13] != len(template)
    ):
        raise _Mismatch("unexpected .dta layout")
    head = bytearray(template[:start])
    struct.pack_into("<Q", head, at_n + 3, n)
    grow = (n - k) * layout.row_len
    struct.pack_into("<4Q", head, at_map + 5 + 10 * 8, *(o + grow for o in offsets[10:]))
    return bytes(head), template[end:]


def _data_start(template: bytes, k: int, layout: _Layout, fmt: str) -> int:
    """Where the data records of a k-row template begin."""
    if fmt == "sav":
        return len(template) - k * layout.row_len
    at_map = template.find(b"<map>")
    return struct.unpack_from("<14Q", template, at_map + 5)[9] + len(b"<data>")


def _header(
    columns: list[_Column],
    n: int,
    write: Callable[[object, str], None],
    fmt: str,
    layout: _Layout,
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
        start = _data_start(template, len(rows), layout, fmt)
        encoded = _encode(columns, layout, rows).tobytes()
        if template[start : start + len(rows) * layout.row_len] != encoded:
            raise _Mismatch("the template rows encode differently")
        cached = (template, len(rows))
        if len(_TEMPLATES) >= 64:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = cached
    template, k = cached
    splice = _sav_splice if fmt == "sav" else _dta_splice
    return splice(template, k, n, layout)


# dictionary key -> (checked template, its rows): one pyreadstat call per table and format
_TEMPLATES: dict[tuple, tuple[bytes, int]] = {}


def _write(
    path: Path,
    columns: list[_Column],
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
            raise _Mismatch("no rows")
        layout = _layout(columns, fmt)
        if fmt == "dta" and any(_too_large_for_stata(c) for c in columns):
            raise _Mismatch("a value Stata cannot hold: pyreadstat says which")
        head, tail = _header(columns, n, write, fmt, layout, path, key)
    except _Mismatch:
        write(_frame(columns, n), str(path))
        path.write_bytes(stamp(path, path.read_bytes()))
        return False
    _write_spliced(path, stamp(path, head), tail, columns, layout, n)
    return True


def _too_large_for_stata(c: _Column) -> bool:
    """A number above Stata's largest double (only floats can be: +inf, or ~9e307)."""
    if c.numbers is None or not pa.types.is_floating(c.numbers.type):
        return False
    values = c.numbers.to_numpy(zero_copy_only=False)
    return bool(np.any(values[~np.isnan(values)] > _DTA_MAX))


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


def _dictionary_key(table: OutputTable, columns: list[_Column]) -> tuple:
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
