"""`kluis deliberation check FILE` and `kluis deliberation show FILE`.

`check` is what a steward runs after editing a file: OK with a one-line summary, or every problem
as 'FILE:LINE: field: message' and exit 1. `show` prints what the file authorises in the order of
the legal text, so it can be held side by side with it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console

from kluis.deliberation.errors import DeliberationError
from kluis.deliberation.load import default_dir, load_dir, parse, problems
from kluis.deliberation.model import Deliberation
from kluis.deliberation.show import render

app = typer.Typer(no_args_is_help=True)


def _today(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date YYYY-MM-DD", param_hint="--today"
        ) from None


@app.command()
def check(
    files: list[Path] = typer.Argument(..., help="Deliberation YAML file(s)."),  # noqa: B008
) -> None:
    """Validate deliberation files against the warehouse schema and the catalogues."""
    out = Console(highlight=False, soft_wrap=True)
    failed = False
    for file in files:
        found = problems(file)
        if found:
            failed = True
            for p in found:
                out.print(str(p), markup=False)
            out.print(f"{file}: {len(found)} problem(s)", markup=False)
            continue
        d = parse(file).deliberation
        tables = ", ".join(t.name for t in d.tables)
        out.print(
            f"OK {file}: deliberation {d.number}, {len(d.variables)} variables, "
            f"{len(d.tables)} table(s) ({tables}), years {d.population.years.first}-"
            f"{d.population.years.last}, effective {d.effective}, retention {d.retention}",
            markup=False,
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def show(
    file: Path = typer.Argument(..., help="Deliberation YAML file."),  # noqa: B008
    today: str | None = typer.Option(None, help="Date for the status (default: today)."),
    registry: Path | None = typer.Option(  # noqa: B008
        None, help="Directory of deliberations that may end this one (default: deliberations/)."
    ),
) -> None:
    """Print a readable summary to hold against the legal text."""
    found = problems(file)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if found:
        for p in found:
            err.print(str(p), markup=False)
        err.print(f"{file}: not valid; run `kluis deliberation check` after fixing", markup=False)
        raise typer.Exit(1)
    d = parse(file).deliberation
    render(d, _today(today), _registry(registry, err), Console())


def _registry(directory: Path | None, err: Console) -> dict[str, Deliberation]:
    """The deliberations that may end this one; a broken file there is reported, not fatal."""
    directory = directory if directory is not None else default_dir()
    if not directory.is_dir():
        return {}
    try:
        return load_dir(directory)
    except DeliberationError as e:
        for p in e.problems:
            err.print(f"warning: {p}", markup=False)
        return {}
