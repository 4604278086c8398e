"""Before an extract reads the warehouse: are the files it will read usable?

WHY: an extract joins tables on their keys and recodes columns by their declared types. A
truncated Parquet file, a column stored with another type or a person listed twice in a year
would otherwise surface deep inside the engine as a traceback (or, worse, as double-counted
rows in an aggregate). So, before any output is prepared, the files of the years concerned are
checked with the validator's own pieces (kluis.warehouse.checks): every footer is read (cheap: no
data pages) against the schema, and the keys of each table are checked for duplicates (one
scan of the key columns). The first problems are reported by file, column and row; the full
report is `kluis warehouse validate DIR`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kluis.errors import BadInput
from kluis.schema import TABLES
from kluis.warehouse.checks.files import Inventory, inventory
from kluis.warehouse.checks.keys import check_key
from kluis.warehouse.checks.meta import partition_problems
from kluis.warehouse.checks.problems import Problem
from kluis.warehouse.checks.sql import Runner
from kluis.warehouse.layout import read_meta

_SHOWN = 8


class WarehouseDataError(BadInput):
    """The warehouse's files cannot be extracted from as they are."""


def _in_scope(inv: Inventory, years: tuple[int, int]) -> Inventory:
    """The inventory restricted to the by-year files of `years` (and every other table)."""
    first, last = years
    out = Inventory(root=inv.root, problems=[])
    for table, files in inv.files.items():
        out.files[table] = [f for f in files if f.dir_year is None or first <= f.dir_year <= last]
    return out


def _relevant(p: Problem, years: tuple[int, int], tables: set[str]) -> bool:
    if not p.is_error or (p.table is not None and p.table not in tables):
        return False
    if p.check in ("partition_unexpected", "column_undeclared", "meta_id"):
        return False
    for ex in p.examples:
        part = (ex.file or "").split("/")
        year = next((s[5:] for s in part if s.startswith("year=") and s[5:].isdigit()), None)
        if year is not None and not years[0] <= int(year) <= years[1]:
            return False
    return True


def _line(root: Path, p: Problem) -> str:
    where = ""
    if p.examples:
        ex = p.examples[0]
        where = str(root / ex.file) if ex.file else ""
        if ex.row is not None:
            where += f", row {ex.row}"
        if len(p.examples) > 1 or p.count > 1:
            where += f" (and {p.count - 1} more)" if p.count > 1 else ""
    column = f"column {p.column}: " if p.column and p.column not in p.message else ""
    head = f"{where}: " if where else (f"{root / p.table}: " if p.table else f"{root}: ")
    return f"{head}{column}{p.message}"


def check_for_extract(
    directory: Path | str,
    years: tuple[int, int],
    *,
    tables: Iterable[str] | None = None,
    complete: bool = True,
    keys: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> None:
    """Raise WarehouseDataError, naming file, column and row, when a file of `tables` (default:
    all) in `years` is unreadable, lacks a declared column or stores it with another type, or
    (`keys`) holds a key twice, or (`complete`) a year of warehouse.json has no file."""
    root = Path(directory)
    wanted = set(tables) if tables is not None else {t.name for t in TABLES}
    meta = read_meta(root)
    inv = inventory(root)
    found = inv.problems
    if complete:
        found = found + partition_problems(inv, *(int(y) for y in meta["years"]))
    problems = [p for p in found if _relevant(p, years, wanted)]
    if not problems and keys:
        scoped = _in_scope(inv, years)
        with Runner(scoped, max_examples=1, memory_limit=memory_limit, threads=threads) as r:
            for t in TABLES:
                if t.name in wanted:
                    check_key(r, t)
            problems = [p for p in r.problems + scoped.problems if p.is_error]
    if problems:
        lines = [_line(root, p) for p in problems[:_SHOWN]]
        more = f"\n... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise WarehouseDataError(
            f"warehouse {root} cannot be extracted from ({len(problems)} problem(s); "
            f"`kluis warehouse validate {root}` gives the full report):\n" + "\n".join(lines) + more
        )
