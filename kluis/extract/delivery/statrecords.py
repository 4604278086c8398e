"""The data records of SPSS .sav and Stata .dta files, and where they sit in a file.

Both formats store each row as one fixed-width record: every number an 8-byte double (missing
values as the format's bit pattern), every text padded to its column's width. kluis writes the
records with numpy (kluis.extract.delivery.statfiles) into the file pyreadstat wrote for a few
template rows: `layout` says where each column sits in a record, `encode` makes the records,
and `sav_splice` / `dta_splice` cut a template around its records and make its row counts (and,
for Stata, the section offsets after the data) those of the full file. Anything unexpected
raises `Mismatch`, and the caller lets pyreadstat write the whole file instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SAV_MISSING = 0xFFEFFFFFFFFFFFFF  # ReadStat's SAV_MISSING_DOUBLE (-DBL_MAX): system-missing
DTA_MISSING = 0x7FE0000000000000  # ReadStat's DTA_113_MISSING_DOUBLE: Stata's `.`
DTA_MAX = struct.unpack("<d", struct.pack("<q", 0x7FDFFFFFFFFFFFFF))[0]  # largest valid double
SAV_MAX_FAST_TEXT = 255  # longer SPSS strings are split into segments: pyreadstat writes them
DTA_MAX_FAST_TEXT = 2044  # from 2045 bytes Stata stores strL references: pyreadstat writes them
CHUNK_ROWS = 65_536  # rows encoded at a time (memory stays a few tens of MB)


class Mismatch(Exception):
    """The spliced file would not be what pyreadstat writes: write it with pyreadstat."""


Rows = range | np.ndarray  # a contiguous run of rows, or chosen rows


@dataclass(frozen=True)
class Column:
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


@dataclass(frozen=True)
class Layout:
    """Where each column sits in a row, and how a text is padded."""

    offsets: tuple[int, ...]
    widths: tuple[int, ...]  # bytes in the row
    row_len: int
    pad: bytes  # SPSS pads text with spaces, Stata with NUL bytes
    missing: int  # bit pattern of a missing double


def layout(columns: list[Column], fmt: str) -> Layout:
    offsets, widths, at = [], [], 0
    for c in columns:
        if c.texts is None:
            w = 8
        elif fmt == "sav":
            if c.width > SAV_MAX_FAST_TEXT:
                raise Mismatch(f"{c.name}: text longer than {SAV_MAX_FAST_TEXT} bytes")
            w = (c.width + 7) // 8 * 8
        else:
            if c.width > DTA_MAX_FAST_TEXT:
                raise Mismatch(f"{c.name}: text longer than {DTA_MAX_FAST_TEXT} bytes")
            w = c.width
        offsets.append(at)
        widths.append(w)
        at += w
    pad, missing = (b" ", SAV_MISSING) if fmt == "sav" else (b"\0", DTA_MISSING)
    return Layout(tuple(offsets), tuple(widths), at, pad, missing)


def encode(columns: list[Column], layout: Layout, rows: Rows) -> np.ndarray:
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


def write_records(
    path: Path, head: bytes, tail: bytes, columns: list[Column], layout: Layout, n: int
) -> None:
    with open(path, "wb") as fh:
        fh.write(head)
        for start in range(0, n, CHUNK_ROWS):
            rows = range(start, min(n, start + CHUNK_ROWS))
            fh.write(memoryview(encode(columns, layout, rows)))
        fh.write(tail)


def _u(fmt: str, raw: bytes, at: int) -> int:
    return struct.unpack_from(fmt, raw, at)[0]


def sav_splice(template: bytes, k: int, n: int, layout: Layout) -> tuple[bytes, bytes]:
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
        raise Mismatch("unexpected .sav layout")
    head = bytearray(template[:start])
    struct.pack_into("<i", head, 80, n)
    struct.pack_into("<q", head, start - 16, n)
    return bytes(head), b""


def dta_splice(template: bytes, k: int, n: int, layout: Layout) -> tuple[bytes, bytes]:
    """Everything before and after the data records of a k-row template (format 119), with
    the row count made n and the section offsets after the data moved."""
    at_n = template.find(b"<N>")
    at_map = template.find(b"<map>")
    if at_n < 0 or at_map < 0:
        raise Mismatch("unexpected .dta layout")
    offsets = list(struct.unpack_from("<14Q", template, at_map + 5))
    start = offsets[9] + len(b"<data>")
    end = start + k * layout.row_len
    if (
        _u("<Q", template, at_n + 3) != k
        or template[offsets[9] : start] != b"<data>"
        or template[end : end + 7] != b"</data>"
        or offsets[13] != len(template)
    ):
        raise Mismatch("unexpected .dta layout")
    head = bytearray(template[:start])
    struct.pack_into("<Q", head, at_n + 3, n)
    grow = (n - k) * layout.row_len
    struct.pack_into("<4Q", head, at_map + 5 + 10 * 8, *(o + grow for o in offsets[10:]))
    return bytes(head), template[end:]


def data_start(template: bytes, k: int, layout: Layout, fmt: str) -> int:
    """Where the data records of a k-row template begin."""
    if fmt == "sav":
        return len(template) - k * layout.row_len
    at_map = template.find(b"<map>")
    return struct.unpack_from("<14Q", template, at_map + 5)[9] + len(b"<data>")
