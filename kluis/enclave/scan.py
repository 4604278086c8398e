"""Scan what goes to manual review (PSPP output, researcher files) and flag what a checker must
look at: counts below the deliberation's minimum, minima and maxima (one person's value),
listings of cases, identifier columns. The flags guide the checker; they never make an output
safe.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

_COUNT = re.compile(
    r"\b(count|counts|frequency|freq|n|cases|valid n|missing n|total|persons|employees|"
    r"employers|aantal)\b",
    re.I,
)
_NOT_COUNT = re.compile(
    r"\b(mean|std|deviation|variance|percent|%|sig|median|sum|skewness|kurtosis|"
    r"coefficient|beta|error|ratio|value|df)\b",
    re.I,
)
_EXTREME = re.compile(r"\b(minimum|maximum|min|max|range)\b", re.I)
_IDS = re.compile(r"(person|employer)_?id|volgnummer|sequence", re.I)
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
ROW_LEVEL_ROWS = 200
MAX_FLAGS = 500
FIGURES = {".png", ".jpg", ".jpeg", ".svg", ".pdf", ".gif"}
TEXT = {".csv", ".txt", ".tsv", ".md", ".html", ".htm", ".json"}


def _number(cell: str) -> float | None:
    c = cell.strip()
    return float(c) if _NUMBER.match(c) else None


def scan_rows(title: str, rows: list[list[str]], n_min: int) -> list[dict]:
    """Flags for one table given as rows of cells (header rows: the leading rows without
    numbers)."""
    flags: list[dict] = []
    head = 0
    while head < len(rows) and not any(_number(c) is not None for c in rows[head]):
        head += 1
    width = max((len(r) for r in rows), default=0)
    col_label = [
        " ".join(r[j] for r in rows[:head] if j < len(r) and r[j].strip()) for j in range(width)
    ]
    for j, label in enumerate(col_label):
        if _IDS.search(label):
            flags.append(
                {
                    "table": title,
                    "row": 0,
                    "column": j,
                    "value": label,
                    "reason": "identifier column (row-level data)",
                }
            )
    data_rows = len(rows) - head
    if data_rows > ROW_LEVEL_ROWS or re.search(r"data list|listing", title, re.I):
        flags.append(
            {
                "table": title,
                "row": head,
                "column": 0,
                "value": str(data_rows),
                "reason": f"{data_rows} rows: looks like a listing of cases",
            }
        )
    for i in range(head, len(rows)):
        row = rows[i]
        row_label = " ".join(c for c in row if c.strip() and _number(c) is None)
        for j, cell in enumerate(row):
            v = _number(cell)
            if v is None:
                continue
            label = f"{col_label[j] if j < len(col_label) else ''} {row_label}"
            where = {"table": title, "row": i, "column": j, "value": cell.strip()}
            if _EXTREME.search(col_label[j] if j < len(col_label) else ""):
                flags.append(where | {"reason": "a minimum or maximum is one person's value"})
            elif v.is_integer() and 0 < v < n_min:
                if _COUNT.search(label):
                    flags.append(where | {"reason": f"count below {n_min}"})
                elif not _NOT_COUNT.search(label):
                    flags.append(where | {"reason": f"small whole number below {n_min} (a count?)"})
    return flags


def pspp_tables(text: str) -> list[tuple[str, list[list[str]]]]:
    """The tables of PSPP's CSV output: blocks separated by blank lines, each starting with
    'Table: <title>' (other blocks are notes and messages)."""
    out = []
    for k, block in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n"))):
        lines = block.strip("\n").split("\n")
        if not lines or not lines[0].strip():
            continue
        if lines[0].startswith("Table: "):
            title, body = lines[0][len("Table: ") :], lines[1:]
        else:
            title, body = f"block {k + 1}", lines
        out.append((title, list(csv.reader(io.StringIO("\n".join(body))))))
    return out


def _capped(flags: list[dict]) -> list[dict]:
    if len(flags) <= MAX_FLAGS:
        return flags
    more = len(flags) - MAX_FLAGS
    last = {
        "table": "",
        "row": 0,
        "column": 0,
        "value": str(more),
        "reason": f"{more} more flags not listed",
    }
    return [*flags[:MAX_FLAGS], last]


def scan_pspp_csv(text: str, n_min: int) -> list[dict]:
    flags: list[dict] = []
    for title, rows in pspp_tables(text):
        flags += scan_rows(title, rows, n_min)
    return _capped(flags)


def scan_file(path: Path, n_min: int) -> list[dict]:
    """Flags for a file a researcher asked to take out."""
    suffix = path.suffix.lower()
    if suffix in FIGURES:
        return [
            {
                "table": path.name,
                "row": 0,
                "column": 0,
                "value": suffix,
                "reason": "figure or document: a checker must read every number in it",
            }
        ]
    raw = path.read_bytes()
    if suffix not in TEXT or b"\0" in raw[:4096]:
        return [
            {
                "table": path.name,
                "row": 0,
                "column": 0,
                "value": suffix or "(none)",
                "reason": "binary or data file: it cannot be scanned",
            }
        ]
    text = raw.decode("utf-8", "replace")
    if suffix in (".csv", ".tsv", ".txt"):
        try:
            dialect = csv.Sniffer().sniff(text[:10_000], delimiters=",;\t|")
            rows = list(csv.reader(io.StringIO(text), dialect))
        except csv.Error:
            rows = [line.split() for line in text.splitlines()]
        return _capped(scan_rows(path.name, rows, n_min))
    rows = [re.findall(r"[-+]?\d+(?:\.\d+)?|[^\s\d]+", line) for line in text.splitlines()]
    return _capped(scan_rows(path.name, rows, n_min))


def scan_pspp_files(csv_file: Path, html_file: Path | None, n_min: int) -> list[dict]:
    """Flags of every PSPP file that may leave: the CSV table by table, and the HTML too (it
    is what a reader of the release sees, so it is scanned rather than assumed to match)."""
    text = csv_file.read_text(encoding="utf-8", errors="replace")
    flags = scan_pspp_csv(text, n_min)
    if html_file is not None:
        flags += scan_file(html_file, n_min)
    return flags
