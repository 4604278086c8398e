"""What a `review` output (a figure, a PSPP table, a text) looks like to the checker.

Researcher files are hostile: they are never put into a page as HTML. An image is recognised by
its first bytes (PNG, JPEG, GIF; never SVG, which can carry script) and served by the
application with a content-security policy; a CSV or HTML table is parsed into cells and drawn
by our own (escaping) template, with the numbers the enclave flagged marked, and every other
whole number below the deliberation's minimum cell marked for a second look; anything else is
shown as text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

MAX_BYTES = 2_000_000  # larger files are offered for download only
MAX_ROWS = 2000
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_NUMBER = re.compile(r"^[-+]?\d[\d,.\u202f ]*$")


def image_type(head: bytes) -> str | None:
    """The media type of a raster image from its first bytes, else None."""
    for magic, media in _MAGIC.items():
        if head.startswith(magic):
            return media
    return None


@dataclass(frozen=True)
class PCell:
    text: str
    flag: str = ""  # '' | 'flagged' (the enclave's scan) | 'small' (below the minimum cell)
    title: str = ""


@dataclass
class Block:
    title: str
    rows: list[list[PCell]] = field(default_factory=list)


@dataclass
class Preview:
    path: str
    kind: str  # image | table | text | binary | missing
    size: int = 0
    media: str = ""
    blocks: list[Block] = field(default_factory=list)
    text: str = ""
    truncated: bool = False
    flagged_count: int = 0
    small_count: int = 0


def _pspp_blocks(text: str) -> tuple[list[Block], bool]:
    """PSPP's CSV output as the enclave's scan reads it (so its flags' table, row and column
    point at the same cells): blocks separated by blank lines, each titled by its
    `Table: <title>` line, else `block <k>`."""
    blocks: list[Block] = []
    n = 0
    for k, chunk in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n"))):
        lines = chunk.strip("\n").split("\n")
        if not lines or not lines[0].strip():
            continue
        if lines[0].startswith("Table: "):
            title, body = lines[0][len("Table: ") :], lines[1:]
        else:
            title, body = f"block {k + 1}", lines
        block = Block(title)
        for row in csv.reader(io.StringIO("\n".join(body))):
            block.rows.append([PCell(c) for c in row])
            n += 1
            if n >= MAX_ROWS:
                blocks.append(block)
                return blocks, True
        blocks.append(block)
    return blocks, False


def _csv_rows(text: str, name: str) -> tuple[list[Block], bool]:
    """Any other CSV file as one table titled by its file name (as the enclave scans it)."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:10_000], delimiters=",;\t|"
        )
    except csv.Error:
        dialect = csv.excel
    block = Block(name)
    for row in csv.reader(io.StringIO(text), dialect):
        block.rows.append([PCell(c) for c in row])
        if len(block.rows) >= MAX_ROWS:
            return [block], True
    return [block], False


class _Tables(HTMLParser):
    """The tables of an HTML file as rows of text cells (everything else is dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.blocks.append(Block(""))
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self.blocks:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "caption" and self._caption is not None and self.blocks:
            self.blocks[-1].title = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.blocks:
            self.blocks[-1].rows.append([PCell(c) for c in self._row])
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def _number(text: str) -> float | None:
    t = text.strip().replace("\u202f", "").replace(" ", "")
    if not _NUMBER.match(t):
        return None
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def _same_value(text: str, value: object) -> bool:
    v = _number(text)
    try:
        return v is not None and abs(v - float(value)) < 1e-9  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return text.strip() == str(value).strip()


def _mark(blocks: list[Block], flagged: list[dict], min_cell: int) -> tuple[int, int]:
    """Mark the enclave's flags (matched by table title or index, row, column and value) and
    every other whole number 1..min_cell-1; returns (flagged, small) counts."""
    n_flagged = 0
    for f in flagged:
        table = f.get("table")
        for b_index, block in enumerate(blocks):
            if table is not None and table not in (block.title, b_index, str(b_index)):
                continue
            for r_index, row in enumerate(block.rows):
                if "row" in f and f["row"] not in (r_index, str(r_index)):
                    continue
                for c_index, cell in enumerate(row):
                    col = f.get("column", f.get("col"))
                    if col is not None and col not in (c_index, str(c_index)):
                        continue
                    if "value" in f and not _same_value(cell.text, f["value"]):
                        continue
                    if cell.flag != "flagged":
                        reason = str(f.get("reason") or f"flagged by the enclave: {f}")
                        row[c_index] = PCell(cell.text, "flagged", reason)
                        n_flagged += 1
    n_small = 0
    for block in blocks:
        for row in block.rows:
            for c_index, cell in enumerate(row):
                v = _number(cell.text)
                if cell.flag or v is None or v != int(v) or not 0 < v < min_cell:
                    continue
                row[c_index] = PCell(
                    cell.text,
                    "small",
                    f"whole number below the minimum cell of {min_cell}: does it count persons?",
                )
                n_small += 1
    return n_flagged, n_small


def preview(path: Path, rel: str, flagged: list[dict], min_cell: int) -> Preview:
    """How to show the file at `path` (already resolved inside the request)."""
    if not path.is_file():
        return Preview(rel, "missing")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
    media = image_type(head)
    if media:
        return Preview(rel, "image", size, media)
    if size > MAX_BYTES:
        return Preview(rel, "binary", size)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Preview(rel, "binary", size)
    suffix = path.suffix.lower()
    blocks: list[Block] = []
    truncated = False
    if suffix in (".csv", ".tsv") and re.search(r"(?m)^Table: ", text):
        blocks, truncated = _pspp_blocks(text)
    elif suffix in (".csv", ".tsv"):
        blocks, truncated = _csv_rows(text, path.name)
    elif suffix in (".html", ".htm"):
        parser = _Tables()
        parser.feed(text)
        blocks = [b for b in parser.blocks if b.rows]
    blocks = [b for b in blocks if any(any(c.text.strip() for c in r) for r in b.rows)]
    if blocks:
        n_flagged, n_small = _mark(blocks, flagged, min_cell)
        return Preview(rel, "table", size, "", blocks, "", truncated, n_flagged, n_small)
    return Preview(rel, "text", size, text=text[:MAX_BYTES])
