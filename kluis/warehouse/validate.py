"""Validate a warehouse directory against the schema declaration: the gate for generated AND real
data of the same schema.

`validate_warehouse(dir)` returns a `Report` of problems, each naming table, file, row and column
with the offending value, a total count and at most `max_examples` located examples. Footers are
read first (missing columns, wrong types, unreadable files); everything else runs as DuckDB SQL
over the Parquet files, streamed. Nothing here raises on bad data: bad data is a problem reported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kluis.schema import FIRST_YEAR, LAST_YEAR
from kluis.warehouse.checks.dates import date_checks
from kluis.warehouse.checks.files import inventory
from kluis.warehouse.checks.identifiers import identifier_checks
from kluis.warehouse.checks.keys import key_checks
from kluis.warehouse.checks.links import link_checks_all
from kluis.warehouse.checks.meta import id_problems, partition_problems, read_meta
from kluis.warehouse.checks.problems import Example, Problem, Report
from kluis.warehouse.checks.sql import Runner
from kluis.warehouse.checks.values import schema_checks

__all__ = ["validate_warehouse", "Report", "Problem", "Example", "STEPS"]

STEPS = (
    "files and schema",
    "nulls, codes, ranges",
    "identifier check digits",
    "one row per key",
    "references and cross-table dates",
    "plausible dates",
)


def validate_warehouse(
    path: str | Path,
    *,
    max_examples: int = 20,
    memory_limit: str | None = None,
    threads: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Check every file of the warehouse at `path`; see the module docstring."""
    root = Path(path)
    report = Report(path=str(root))
    step = on_step or (lambda _name: None)
    if not root.is_dir():
        report.problems.append(
            Problem("warehouse_missing", "error", None, None, f"{root} is not a directory")
        )
        return report

    step(STEPS[0])
    meta, meta_problems = read_meta(root)
    inv = inventory(root)
    if meta is not None:
        first, last = meta["years"]
        meta_problems += partition_problems(inv, first, last)
        meta_problems += id_problems(root, meta)
    else:
        years = [f.dir_year for fs in inv.files.values() for f in fs if f.dir_year is not None]
        first, last = (min(years), max(years)) if years else (FIRST_YEAR, LAST_YEAR)

    with Runner(inv, max_examples=max_examples, memory_limit=memory_limit, threads=threads) as r:
        step(STEPS[1])
        schema_checks(r)
        step(STEPS[2])
        identifier_checks(r)
        step(STEPS[3])
        key_checks(r)
        step(STEPS[4])
        link_checks_all(r)
        step(STEPS[5])
        date_checks(r, last)
        sql_problems = r.problems

    report.problems = meta_problems + inv.problems + sql_problems
    report.tables = {
        t: {"files": len(fs), "rows": sum(f.rows for f in fs)} for t, fs in inv.files.items()
    }
    report.checks_run = list(STEPS)
    return report
