"""`kluis tables ...`: small cell risk analysis of tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from kluis.disclosure.api import record_release, run, write_outputs
from kluis.disclosure.cells import DataError
from kluis.disclosure.spec import SpecError, load_spec
from kluis.disclosure.suppress import ProtectionError

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


@app.command("protect")
def protect_cmd(
    table: Path = typer.Argument(..., help="Microdata (or aggregated) CSV or Parquet file."),
    spec: Path = typer.Option(..., "--spec", help="SPEC.yaml: dimensions, columns, rules."),
    out: Path = typer.Option(None, "--out", help="Output directory (default: <TABLE>.protected)."),
    history: Path = typer.Option(
        None, "--history", help="Release history directory: audit against earlier releases."
    ),
) -> None:
    """Check every cell, hide what must be hidden, audit, and write table + status + report."""
    try:
        sp = load_spec(spec)
        with console.status("computing cells, rules, suppression and audit"):
            pt = run(table, sp, history, record=False)
    except (SpecError, DataError, ProtectionError) as e:
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    out = out or table.with_name(table.stem + ".protected")
    paths = write_outputs(pt, out)
    if history is not None:
        record_release(pt, history)
    counts = {k: int((pt.status == k).sum()) for k in ("safe", "primary", "secondary")}
    console.print(
        f"{sp.name}: {counts['safe']} safe, {counts['primary']} unsafe, "
        f"{counts['secondary']} complementary; method {pt.method}"
    )
    for f in pt.history_findings:
        console.print(f"[red]{f['kind']}[/red] {f['cell']}: {f['detail']}")
    for k, p in paths.items():
        console.print(f"{k}: {p}")
    if not pt.ok:
        console.print("[red]the table may NOT be released (see the report)[/red]")
        raise typer.Exit(1)
