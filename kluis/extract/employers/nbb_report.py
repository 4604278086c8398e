"""The Rich report of an NBB list check: what the operator reads before running an extract."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from kluis.extract.employers.nbb import NbbList, NbbProblem


def problems_table(problems: tuple[NbbProblem, ...], title: str, limit: int = 50) -> Table:
    table = Table(title=title, show_lines=False)
    for name in ("line", "field", "problem", "value"):
        table.add_column(name, overflow="fold")
    for p in problems[:limit]:
        table.add_row(str(p.line), p.field or "", p.message, "" if p.value is None else p.value)
    if len(problems) > limit:
        table.caption = f"{len(problems) - limit} more not shown"
    return table


def render(result: NbbList, console: Console | None = None, limit: int = 50) -> None:
    """Print counts, then every error and every unknown enterprise with its line."""
    console = console or Console()
    groups = ", ".join(f"{g}: {n}" for g, n in result.group_counts().items()) or "none"
    console.print(
        f"[bold]NBB list[/bold] {result.path}: {result.lines} line(s), "
        f"{result.enterprises.num_rows} enterprise(s) used ({groups}), "
        f"{result.unknown.num_rows} unknown to the warehouse, "
        f"{len(result.errors)} error(s)"
    )
    if result.errors:
        console.print(problems_table(result.errors, "Errors", limit))
    if result.warnings:
        console.print(problems_table(result.warnings, "Warnings (listed, not extracted)", limit))
