"""`kluis warehouse generate`: the command around `generate_warehouse`."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from kluis.schema import FIRST_YEAR, LAST_YEAR
from kluis.warehouse.generate import generate_warehouse

_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*$")


def parse_years(text: str) -> tuple[int, int]:
    """'2003-2026' -> (2003, 2026); '2024' -> (2024, 2024)."""
    m = _YEARS.match(text)
    if not m:
        raise typer.BadParameter(f"{text!r}: expected YYYY or YYYY-YYYY, e.g. 2003-2026")
    first = int(m.group(1))
    return first, int(m.group(2) or first)


def generate_command(
    out: Path = typer.Option(
        ...,
        "--out",
        help="Directory to create (replaced atomically when it already holds a kluis warehouse).",
    ),
    persons: int = typer.Option(
        10_000,
        "--persons",
        min=1,
        help="About this many residents aged 15-64 per year (7500000 = Belgium).",
    ),
    years: str = typer.Option(
        f"{FIRST_YEAR}-{LAST_YEAR}", "--years", help="First and last year, e.g. 2003-2026."
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Same seed, same bytes."),
) -> None:
    """Generate a synthetic, calibrated warehouse: every table of the schema, year by year."""
    err = Console(stderr=True)
    first_last = parse_years(years)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def report(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        meta = generate_warehouse(
            out, persons=persons, years=first_last, seed=seed, progress=report
        )
    from kluis.audit import note

    note(wrote={"warehouse": meta["id"]})
    rows = ", ".join(f"{k} {v:,}" for k, v in meta["rows"].items())
    Console().print(f"warehouse {meta['id']} written to {out} ({rows})")
