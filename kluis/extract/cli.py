"""The `kluis extract` command: everything a deliberation authorises, and nothing more."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path

import typer

from kluis.engine import ENGINES
from kluis.extract.delivery import FORMATS

# the choices `kluis extract --help` lists
Phase = Enum("Phase", {p: p for p in ("development", "full")}, type=str)
EngineName = Enum("EngineName", {e: e for e in ENGINES}, type=str)


def _formats(text: str) -> tuple[str, ...]:
    parts = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    bad = [p for p in parts if p not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
    return parts or ("parquet",)


def extract(
    deliberation: Path = typer.Argument(
        ..., help="Deliberation file, e.g. deliberations/26-104.yaml."
    ),
    warehouse: Path = typer.Option(..., "--warehouse", help="Warehouse directory."),
    phase: Phase = typer.Option(..., "--phase", help="Phase of the deliberation."),
    out: Path = typer.Option(..., "--out", help="Output directory (published atomically)."),
    engine: EngineName = typer.Option(
        "duckdb", "--engine", help="Query engine (DuckDB on one machine, Spark for larger runs)."
    ),
    format: str = typer.Option(
        "parquet", "--format", help="Comma-separated: parquet (always), sav, dta."
    ),
    keystore: Path | None = typer.Option(
        None, "--keystore", help="Key store (default: $KLUIS_KEYSTORE or ~/.kluis/keys)."
    ),
    today: str | None = typer.Option(
        None, "--today", help="Date for the in-force check (YYYY-MM-DD; default: today)."
    ),
    enterprises: Path | None = typer.Option(
        None, "--enterprises", help="Input enterprise list (employer studies, e.g. NBB CSV)."
    ),
    memory_limit: str = typer.Option(
        "4GB", "--memory-limit", help="DuckDB memory limit, e.g. 4GB, 500MB, 6GiB."
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="DuckDB threads."),
    deliberations: Path | None = typer.Option(
        None,
        "--deliberations",
        help="Registry of deliberations, which says which deliberation ends which "
        "[default: $KLUIS_DELIBERATIONS, else $KLUIS_HOME/deliberations].",
    ),
) -> None:
    """Extract the pseudonymised, coarsened tables a deliberation authorises."""
    from rich.console import Console

    from kluis.engine import EngineOptions
    from kluis.extract.progress import progress_bar
    from kluis.extract.run import run_extract
    from kluis.warehouse.resources import memory_limit as checked_memory

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise typer.BadParameter(f"--today {today!r} is not a date (YYYY-MM-DD)") from None
    try:
        memory = checked_memory(memory_limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--memory-limit") from None
    chosen_formats = _formats(format)
    inputs = {"enterprises": enterprises} if enterprises else {}
    # progress on stderr, transient: gone from the screen before an error is printed (by the
    # handler in kluis.cli) or the result (on stdout)
    with progress_bar(Console(stderr=True)) as progress:
        published = run_extract(
            deliberation,
            warehouse,
            phase.value,
            out,
            engine=engine.value,
            formats=chosen_formats,
            keystore=keystore,
            today=day,
            inputs=inputs,
            deliberations=deliberations,
            engine_options=EngineOptions(memory_limit=memory, threads=threads),
            progress=progress,
        )
    rows = published.manifest["rows"]
    total = sum(n for per_year in rows.values() for n in per_year.values())
    typer.echo(f"published {published.out} ({len(rows)} tables, {total:,} rows)")
    for table, per_year in rows.items():
        typer.echo(f"  {table}: " + ", ".join(f"{y}: {n:,}" for y, n in per_year.items()))


def register(app: typer.Typer) -> None:
    """Add `kluis extract` to the main app."""
    app.command("extract")(extract)
