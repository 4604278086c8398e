"""`kluis warehouse profile DIR`: figures vs calibration targets as a table, charts and JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kluis.warehouse.profile import Figure, Profile, profile_warehouse


def _fmt(unit: str, v: float | None) -> str:
    if v is None:
        return "-"
    if unit == "share":
        return f"{100 * v:.1f}%"
    if unit == "count":
        return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    if unit == "EUR":
        return f"€{v:,.0f}"
    return f"{v:.2f}"


def _tolerance(f: Figure) -> str:
    half = (f.high - f.low) / 2
    return "±" + _fmt(f.unit, half).lstrip("€") if f.unit != "EUR" else f"±€{half:,.0f}"


def profile_table(p: Profile) -> Table:
    t = Table(title=f"Profile of {p.path}, {p.year} (targets scaled to {p.persons:,} persons)")
    for name, justify in (
        ("figure", "left"),
        ("value", "right"),
        ("target", "right"),
        ("tolerance", "right"),
        ("ok?", "center"),
    ):
        t.add_column(name, justify=justify)
    for f in p.figures:
        ok = (
            Text("-", "dim")
            if f.ok is None
            else (Text("yes", "green") if f.ok else Text("NO", "bold red"))
        )
        t.add_row(f.name, _fmt(f.unit, f.value), _fmt(f.unit, f.target), _tolerance(f), ok)
    return t


def profile_command(
    directory: Path = typer.Argument(..., help="Warehouse directory."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for profile.json and the PNG charts [default: DIR-profile]."
    ),
    year: int | None = typer.Option(None, "--year", help="Reference year [default: the last]."),
) -> None:
    """Generated figures beside the calibration targets (table), PNG charts and profile.json."""
    from kluis.warehouse.profile_charts import write_profile  # matplotlib only when needed

    err = Console(stderr=True)
    with err.status("profiling"):
        p = profile_warehouse(directory, year=year)
    out = out or directory.parent / f"{directory.name}-profile"
    written = write_profile(p, out)
    console = Console()
    console.print(profile_table(p))
    n_bad = sum(1 for f in p.figures if f.ok is False)
    console.print(
        f"{n_bad} of {len(p.figures)} figures outside their tolerance; wrote "
        f"{len(written)} files to {out}"
    )
