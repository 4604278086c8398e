"""Find a warehouse's Parquet files and check each one's footer against the schema declaration.

Only footers are read here (cheap, no data pages), so a missing column or a wrong type is reported
per file before any row is scanned, and an unreadable file (truncated, not Parquet) is set aside
instead of crashing the later SQL checks. Which declared columns are usable (present, declared
type) is recorded per file: later checks only touch usable columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kluis.schema import TABLES, Table
from kluis.warehouse.checks.problems import Example, Problem

_YEAR_DIR = re.compile(r"^year=(\d{4})$")


@dataclass
class DataFile:
    """One readable Parquet file of one table."""

    path: Path
    rel: str  # path relative to the warehouse directory, as shown to the steward
    table: str
    dir_year: int | None  # from `year=YYYY`; None for tables not stored by year
    rows: int
    usable: frozenset[str]  # declared columns present with the declared type


@dataclass
class Inventory:
    """The readable files of each declared table, and what was wrong with the others."""

    root: Path
    files: dict[str, list[DataFile]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def table_files(self, table: str) -> list[DataFile]:
        return self.files.get(table, [])

    def drop(self, path: Path, reason: str) -> None:
        """Set aside a file found unreadable while scanning its data pages."""
        for table, files in self.files.items():
            kept = [f for f in files if f.path != path]
            if len(kept) != len(files):
                rel = next(f.rel for f in files if f.path == path)
                self.files[table] = kept
                self.problems.append(_unreadable(table, rel, reason))


def same_type(found: pa.DataType, declared: pa.DataType) -> bool:
    """Whether a stored Arrow type carries the declared type (string encodings are equivalent)."""
    if pa.types.is_dictionary(found):
        found = found.value_type
    if pa.types.is_string(declared):
        return (
            pa.types.is_string(found)
            or pa.types.is_large_string(found)
            or pa.types.is_string_view(found)
        )
    if pa.types.is_date(declared):
        return pa.types.is_date(found)
    return found.equals(declared)


def _unreadable(table: str, rel: str, reason: str) -> Problem:
    return Problem(
        check="file_unreadable",
        severity="error",
        table=table,
        column=None,
        message=f"cannot read this Parquet file (truncated or corrupt?): {reason}",
        examples=(Example(file=rel, row=None, value=None),),
    )


def _table_files(root: Path, t: Table) -> tuple[list[tuple[Path, int | None]], list[Problem]]:
    """The Parquet files of one table as (path, directory year), and layout problems."""
    base = root / t.name
    problems: list[Problem] = []
    if not base.is_dir():
        problems.append(
            Problem("table_missing", "error", t.name, None, f"no directory {t.name}/ for table")
        )
        return [], problems
    found: list[tuple[Path, int | None]] = []
    if t.by_year:
        for p in sorted(base.iterdir()):
            m = _YEAR_DIR.match(p.name)
            if p.is_dir() and m:
                parts = sorted(p.glob("*.parquet"))
                if not parts:
                    problems.append(
                        Problem(
                            "partition_empty",
                            "error",
                            t.name,
                            None,
                            f"partition {t.name}/{p.name}/ holds no .parquet file",
                        )
                    )
                found.extend((f, int(m.group(1))) for f in parts)
            else:
                problems.append(
                    Problem(
                        "unexpected_path",
                        "warning",
                        t.name,
                        None,
                        f"{t.name}/{p.name} is not a year=YYYY partition directory; ignored",
                    )
                )
    else:
        found = [(f, None) for f in sorted(base.glob("*.parquet"))]
        others = [p.name for p in base.iterdir() if p.suffix != ".parquet"]
        for name in sorted(others):
            problems.append(
                Problem(
                    "unexpected_path",
                    "warning",
                    t.name,
                    None,
                    f"{t.name}/{name} is not a .parquet file; ignored",
                )
            )
    if not found and not problems:
        problems.append(
            Problem("table_missing", "error", t.name, None, f"{t.name}/ holds no .parquet file")
        )
    return found, problems


def _schema_problems(t: Table, rel: str, schema: pa.Schema) -> tuple[frozenset[str], list[Problem]]:
    """Usable declared columns of one file, and its missing / mistyped / undeclared columns."""
    usable: set[str] = set()
    problems: list[Problem] = []
    where = (Example(file=rel, row=None, value=None),)
    stored = {f.name: f.type for f in schema}
    for c in t.columns:
        if c.name not in stored:
            problems.append(
                Problem(
                    "column_missing",
                    "error",
                    t.name,
                    c.name,
                    f"declared column {c.name} ({c.type}) is missing from the file",
                    1,
                    where,
                )
            )
        elif not same_type(stored[c.name], c.arrow_type):
            problems.append(
                Problem(
                    "column_type",
                    "error",
                    t.name,
                    c.name,
                    f"column {c.name} is stored as {stored[c.name]}, declared {c.type}; "
                    "its values are not checked further",
                    1,
                    (Example(file=rel, row=None, value=str(stored[c.name])),),
                )
            )
        else:
            usable.add(c.name)
    for name in stored:
        if name not in set(t.column_names):
            problems.append(
                Problem(
                    "column_undeclared",
                    "warning",
                    t.name,
                    name,
                    f"column {name} is not declared in the schema; ignored",
                    1,
                    where,
                )
            )
    return frozenset(usable), problems


def inventory(root: Path) -> Inventory:
    """Read every declared table's Parquet footers; unreadable files are reported, not fatal."""
    inv = Inventory(root=root)
    declared = {t.name for t in TABLES}
    for p in sorted(root.iterdir()) if root.is_dir() else []:
        if p.is_dir() and p.name not in declared and not p.name.startswith("."):
            inv.problems.append(
                Problem(
                    "unexpected_path",
                    "warning",
                    None,
                    None,
                    f"directory {p.name}/ is not a declared warehouse table; ignored",
                )
            )
    for t in TABLES:
        paths, problems = _table_files(root, t)
        inv.problems.extend(problems)
        files: list[DataFile] = []
        for path, year in paths:
            rel = path.relative_to(root).as_posix()
            try:
                meta = pq.read_metadata(path)
                schema = meta.schema.to_arrow_schema()
            except (OSError, pa.ArrowException, ValueError) as exc:
                inv.problems.append(_unreadable(t.name, rel, str(exc).splitlines()[0]))
                continue
            usable, problems = _schema_problems(t, rel, schema)
            inv.problems.extend(problems)
            files.append(DataFile(path, rel, t.name, year, meta.num_rows, usable))
        inv.files[t.name] = files
    return inv
