"""SPSS syntax on both phases: the enclave provides the extract's tables to GNU PSPP by name.

Convention (the researcher's `.sps` runs unchanged on both phases): read a table-year with

    GET FILE='table1_next_2025.sav' /KEEP=province sex sep_code.

(any folder before the name: `sav/table1_next_2025.sav` is how the development extract ships
it). The enclave replaces each such command, on the same line, by `INSERT FILE` of syntax it
generated: `GET DATA /TYPE=TXT` over a CSV that DuckDB wrote from the extract's Parquet file,
then the variable and value labels of the extract's data package. Writing `.sav` files with
pyreadstat takes ~45 s for 50,000 persons, far too slow for 7.5 million; DuckDB writes the CSV
in seconds, and /KEEP (or /DROP) limits it to the variables the syntax needs. The full phase has
no `.sav` files at all, and the development phase uses the same path so both runs are alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.enclave.extract import ExtractInfo
from kluis.errors import BadInput

DATA_MOUNT = "/kluis-data"
_GET = re.compile(
    r"^\s*GET\s+FILE\s*=\s*(['\"])(?P<file>[^'\"]+)\1(?P<rest>.*?)\.\s*$", re.I | re.S
)
_SAV = re.compile(r"(?P<table>[A-Za-z][A-Za-z0-9_]*)_(?P<year>\d{4})\.sav$", re.I)
_SUB = re.compile(r"/\s*(?P<key>[A-Za-z]+)\s*=?\s*(?P<value>[^/]*)")


class SyntaxRefused(BadInput):
    """SPSS syntax the enclave cannot prepare data for; names the file and line."""


@dataclass(frozen=True)
class DataNeed:
    table: str
    year: int
    columns: tuple[str, ...]

    @property
    def stem(self) -> str:
        import hashlib

        h = hashlib.sha256(",".join(self.columns).encode()).hexdigest()[:8]
        return f"{self.table}_{self.year}_{h}"


def commands(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) of each command: a command ends with a line ending in '.'
    or at an empty line (PSPP's rules for syntax files)."""
    out: list[tuple[int, int, str]] = []
    lines = text.split("\n")
    start, buf = None, []
    for i, line in enumerate(lines):
        if not line.strip():
            if buf:
                out.append((start, i - 1, "\n".join(buf)))
            start, buf = None, []
            continue
        if start is None:
            start = i
        buf.append(line)
        if line.rstrip().endswith("."):
            out.append((start, i, "\n".join(buf)))
            start, buf = None, []
    if buf:
        out.append((start, len(lines) - 1, "\n".join(buf)))
    return out


def _names(spec: str, columns: tuple[str, ...], where: str) -> list[str]:
    """Variable names of a /KEEP or /DROP list, with `a TO b` ranges (case-insensitive)."""
    lower = {c.lower(): c for c in columns}
    words = spec.replace(",", " ").split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w not in lower:
            raise SyntaxRefused(f"{where}: no variable {words[i]!r} in that table")
        if i + 2 < len(words) and words[i + 1].lower() == "to":
            end = words[i + 2].lower()
            if end not in lower:
                raise SyntaxRefused(f"{where}: no variable {words[i + 2]!r} in that table")
            a, b = columns.index(lower[w]), columns.index(lower[end])
            out += list(columns[a : b + 1])
            i += 3
        else:
            out.append(lower[w])
            i += 1
    return out


def plan(
    text: str, extract: ExtractInfo, source: str, data_mount: str = DATA_MOUNT
) -> tuple[str, list[DataNeed]]:
    """The syntax with each GET FILE of an extract table replaced (line numbers kept), and the
    data files it needs."""
    lines = text.split("\n")
    needs: list[DataNeed] = []
    for first, last, cmd in commands(text):
        m = _GET.match(cmd)
        if not m:
            continue
        where = f"{source}:{first + 1}"
        sav = _SAV.search(m.group("file").replace("\\", "/").rsplit("/", 1)[-1])
        if not sav or sav.group("table") not in extract.tables:
            continue  # not one of ours: PSPP will say it cannot open it
        t = extract.tables[sav.group("table")]
        year = int(sav.group("year"))
        if not any(f"/year={year}/" in f for f in t.files):
            raise SyntaxRefused(f"{where}: the extract has no year {year} of {t.name}")
        columns = t.columns
        for sub in _SUB.finditer(m.group("rest")):
            key = sub.group("key").upper()
            if key == "KEEP":
                columns = tuple(_names(sub.group("value"), t.columns, where))
            elif key == "DROP":
                drop = set(_names(sub.group("value"), t.columns, where))
                columns = tuple(c for c in columns if c not in drop)
            else:
                raise SyntaxRefused(
                    f"{where}: GET FILE /{key} is not supported in the enclave (only /KEEP and "
                    "/DROP); use RENAME VARIABLES etc. after it"
                )
        need = DataNeed(t.name, year, columns)
        needs.append(need)
        lines[first] = f"INSERT FILE='{data_mount}/{need.stem}.sps'."
        for k in range(first + 1, last + 1):
            lines[k] = ""
    return "\n".join(lines), needs


def _format(field: pa.Field, width: int) -> tuple[str, str]:
    """(PSPP input format, SQL expression) of a column."""
    t = field.type
    name = f'"{field.name}"'
    if pa.types.is_boolean(t):
        return "F1.0", f"CAST({name} AS INTEGER)"
    if pa.types.is_integer(t):
        return "F20.0", name
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "F24.8", name
    return f"A{max(1, min(width, 32767))}", f"CAST({name} AS VARCHAR)"


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def prepare(
    need: DataNeed, extract: ExtractInfo, data_dir: Path, data_mount: str = DATA_MOUNT
) -> None:
    """Write `<stem>.csv` (DuckDB, from the table-year's Parquet file) and `<stem>.sps` (GET DATA
    plus variable and value labels) into `data_dir`."""
    t = extract.tables[need.table]
    part = next(f for f in t.files if f"/year={need.year}/" in f)
    path = (extract.path / part).as_posix().replace("'", "''")
    schema = pq.read_schema(extract.path / part)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    src = f"read_parquet('{path}', hive_partitioning = false)"
    strings = [c for c in need.columns if not _numeric(schema.field(c).type)]
    widths = {}
    if strings:
        row = con.execute(
            "SELECT "
            + ", ".join(f'max(strlen(CAST("{c}" AS VARCHAR)))' for c in strings)
            + f" FROM {src}"
        ).fetchall()[0]
        widths = {c: int(w or 1) for c, w in zip(strings, row, strict=True)}
    fmts = {c: _format(schema.field(c), widths.get(c, 1)) for c in need.columns}
    csv_path = data_dir / f"{need.stem}.csv"
    select = ", ".join(f'{fmts[c][1]} AS "{c}"' for c in need.columns)
    con.execute(
        f"COPY (SELECT {select} FROM {src}) TO '{csv_path.as_posix()}' "
        "(HEADER, DELIMITER ',', QUOTE '\"')"
    )
    con.close()
    labels = _labels(extract, need.table)
    lines = [
        f"GET DATA /TYPE=TXT /FILE='{data_mount}/{need.stem}.csv' /ENCODING='UTF-8'",
        '  /ARRANGEMENT=DELIMITED /DELCASE=LINE /FIRSTCASE=2 /DELIMITERS="," /QUALIFIER=\'"\'',
        "  /VARIABLES=",
        *[f"    {c} {fmts[c][0]}" for c in need.columns],
        ".",
    ]
    var_labels = [
        f"  {c} {_quote(labels[c]['title'])}"
        for c in need.columns
        if c in labels and labels[c].get("title")
    ]
    if var_labels:
        lines += ["VARIABLE LABELS", *var_labels, "."]
    for c in need.columns:
        cats = labels.get(c, {}).get("categories") or []
        if cats and fmts[c][0].startswith("A"):
            pairs = " ".join(f"{_quote(k['value'])} {_quote(k['label'])}" for k in cats)
            lines.append(f"VALUE LABELS {c} {pairs}.")
    (data_dir / f"{need.stem}.sps").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)


def _labels(extract: ExtractInfo, table: str) -> dict[str, dict]:
    """Field title and categories per column, from the extract's datapackage.json."""
    try:
        pkg = json.loads((extract.path / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for res in pkg.get("resources", []):
        if res.get("name") == table or str(res.get("path", "")).startswith(f"{table}/"):
            return {f["name"]: f for f in res.get("schema", {}).get("fields", [])}
    return {}
