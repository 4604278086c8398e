"""`kluis warehouse validate DIR`: the command around `validate_warehouse`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from kluis.errors import BadInput, Refused
from kluis.warehouse.checks.render import print_report
from kluis.warehouse.resources import memory_limit as checked_memory
from kluis.warehouse.validate import STEPS, validate_warehouse


def validate_command(
    directory: Path = typer.Argument(..., help="Warehouse directory (generated or real data)."),
    json_output: bool = typer.Option(
        False, "--json", help="Print the report as JSON on stdout instead of a table."
    ),
    max_examples: int = typer.Option(
        20, "--max-examples", min=1, help="Located examples shown per problem (total is counted)."
    ),
    memory_limit: str | None = typer.Option(
        None, "--memory-limit", help="DuckDB memory limit, e.g. 6GB (it spills to disk beyond)."
    ),
) -> None:
    """Check a warehouse against the schema: columns and types, nulls, identifier check digits,
    one row per key, references, code lists, ranges, plausible dates and warehouse.json.

    Exits 1 when any error is found (checked and refused), 0 otherwise (warnings alone do not
    fail), 2 when DIR is not a directory."""
    err = Console(stderr=True)
    if not directory.is_dir():
        raise BadInput(f"{directory} is not a directory")
    if memory_limit is not None:
        try:
            memory_limit = checked_memory(memory_limit)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--memory-limit") from None
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("validating", total=len(STEPS))

        def step(name: str) -> None:
            progress.update(task, description=f"validating: {name}", advance=1)

        report = validate_warehouse(
            directory, max_examples=max_examples, memory_limit=memory_limit, on_step=step
        )
    if json_output:
        sys.stdout.write(report.to_json() + "\n")
    else:
        print_report(report, Console())
    if not report.ok:
        raise Refused(f"warehouse {directory}: {len(report.errors)} error(s); see the report")
