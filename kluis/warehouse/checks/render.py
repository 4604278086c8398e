"""Show a validation report to a data steward as a Rich table: one line per located example.

The problem text is printed once per problem (on its first example); the further examples
follow on their own lines, and a last line says how many more rows have the same problem.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kluis.warehouse.checks.problems import Problem, Report


def _where(p: Problem) -> str:
    if p.table and p.column:
        return f"{p.table}.{p.column}"
    return p.table or p.column or ""


def _headline(p: Problem) -> Text:
    style = "bold red" if p.is_error else "yellow"
    text = Text.assemble((p.severity.upper(), style), " ", (p.check, "bold"), "\n", p.message)
    if p.count > 1:
        text.append(f" ({p.count:,} rows)", style="bold")
    return text


def report_table(report: Report) -> Table:
    """The problems of `report`, errors first, with their examples and total counts."""
    t = Table(title=f"Validation of {report.path}", show_lines=True, expand=False)
    t.add_column("problem", overflow="fold", ratio=3)
    t.add_column("table.column", overflow="fold", ratio=1)
    t.add_column("file", overflow="fold", ratio=2)
    t.add_column("row", justify="right", no_wrap=True)
    t.add_column("value", overflow="fold", ratio=1)
    problems = sorted(report.problems, key=lambda p: 0 if p.is_error else 1)
    for p in problems:
        files = "\n".join(ex.file or "" for ex in p.examples)
        rows = "\n".join("" if ex.row is None else str(ex.row) for ex in p.examples)
        values = "\n".join("" if ex.value is None else ex.value for ex in p.examples)
        more = p.count - len(p.examples)
        if more > 0 and p.examples:
            files += f"\n... and {more:,} more"
        t.add_row(_headline(p), _where(p), files, rows, values)
    return t


def print_report(report: Report, console: Console | None = None) -> None:
    """The table (when there is anything to show) and a one-line verdict."""
    console = console or Console()
    if report.problems:
        console.print(report_table(report))
    rows = sum(v["rows"] for v in report.tables.values())
    files = sum(v["files"] for v in report.tables.values())
    verdict = Text("VALID", style="bold green") if report.ok else Text("INVALID", style="bold red")
    console.print(
        Text.assemble(
            verdict,
            f": {len(report.errors)} error(s), {len(report.warnings)} warning(s) "
            f"in {files} file(s), {rows:,} row(s)",
        )
    )
