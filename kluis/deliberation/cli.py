"""`kluis deliberation check|show|register`.

`check` is what a steward runs after editing a file: OK with a one-line summary on stdout, or
every problem as 'FILE:LINE: field: message' on stderr and exit 2 (bad input). `show` prints what
the file authorises in the order of the legal text, so it can be held side by side with it, with
its status from the registry. `register` puts a checked file into the registry that every "in
force" check reads (kluis.deliberation.registry).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from kluis.deliberation.errors import DeliberationError, Problem

app = typer.Typer(no_args_is_help=True)

DELIBERATIONS_OPTION = typer.Option(
    None,
    "--deliberations",
    "--registry",
    help="Registry of deliberations, which says which deliberation ends which "
    "[default: $KLUIS_DELIBERATIONS, else $KLUIS_HOME/deliberations].",
)


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
    from kluis.deliberation.load import parse, problems

    found: list[Problem] = []
    bad_files = 0
    for file in files:
        file_problems = problems(file)
        if file_problems:
            found += file_problems
            bad_files += 1
            continue
        d = parse(file).deliberation
        tables = ", ".join(t.name for t in d.tables)
        typer.echo(
            f"OK {file}: deliberation {d.number}, {len(d.variables)} variables, "
            f"{len(d.tables)} table(s) ({tables}), years {d.population.years.first}-"
            f"{d.population.years.last}, effective {d.effective}, retention {d.retention}"
        )
    if found:
        raise DeliberationError(
            found, f"{len(found)} problem(s) in {bad_files} of {len(files)} file(s)"
        )


@app.command()
def show(
    file: Path = typer.Argument(..., help="Deliberation YAML file."),  # noqa: B008
    today: str | None = typer.Option(None, help="Date for the status (default: today)."),
    deliberations: Path | None = DELIBERATIONS_OPTION,
) -> None:
    """Print a readable summary to hold against the legal text, with its status today."""
    from rich.console import Console

    from kluis.deliberation.load import load
    from kluis.deliberation.registry import load_registry
    from kluis.deliberation.show import render
    from kluis.errors import KluisError

    d = load(file)
    day = _today(today)
    try:
        registry = load_registry(deliberations)
        unknown = None
    except KluisError as exc:  # the file is still worth showing; its status is not known
        registry, unknown = None, str(exc)
        typer.echo(f"warning: status unknown: {exc}", err=True)
    render(d, day, registry, Console(), unknown=unknown)


@app.command()
def register(
    files: list[Path] = typer.Argument(..., help="Deliberation YAML file(s) to register."),  # noqa: B008
    deliberations: Path | None = DELIBERATIONS_OPTION,
    replace: bool = typer.Option(
        False, "--replace", help="Replace a registered deliberation of the same number."
    ),
) -> None:
    """Check deliberation files and copy them into the registry, which every "in force"
    check reads (a registered deliberation that differs is replaced only with --replace)."""
    from kluis.deliberation.registry import register as register_file

    for file in files:
        d, target, changed = register_file(file, deliberations, replace=replace)
        state = "registered" if changed else "already registered"
        typer.echo(f"{state} deliberation {d.number}: {target}")
