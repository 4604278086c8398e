"""`kluis retention status|enforce`: what is kept until when; destruction at the date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)

_TODAY = typer.Option(None, "--today", help="The day to judge (YYYY-MM-DD; default: today).")
_REGISTRY = typer.Option(
    None,
    "--deliberations",
    help="Registry of deliberations (default: $KLUIS_DELIBERATIONS or ~/.kluis/deliberations).",
)


def _day(text: str | None) -> dt.date:
    from kluis.errors import BadInput

    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--today {text!r}: not a date (YYYY-MM-DD)") from None


@app.command("status")
def status(
    today: str | None = _TODAY,
    deliberations: Path | None = _REGISTRY,
    json_out: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Every extract, key, output request, release and warehouse on this store: its
    deliberation, retention date, days left and what happens to it at that date."""
    from kluis.audit.catalogue import problems
    from kluis.retention.plan import plan

    day = _day(today)
    p = plan(day, deliberations)
    if json_out:
        doc = {
            "today": day.isoformat(),
            "due": p.due,
            "items": [i.as_json(day) for i in p.items],
            "unreadable_catalogue_records": problems(),
        }
        typer.echo(json.dumps(doc, indent=1, sort_keys=True))
        return
    typer.echo(f"retention on {day} ({len(p.items)} items)")
    header = f"{'kind':<11} {'deliberation':<12} {'retention':<10} {'days left':>9}  "
    typer.echo(header + f"{'at the date':<11} path")
    for i in p.items:
        left = i.days_left(day)
        retention = "-" if i.retention is None else i.retention.isoformat()
        extended = f" (extended by {i.extended_by})" if i.extended_by else ""
        gone = "" if i.exists else " [absent]"
        leftovers = f" [+{len(i.leftovers)} leftovers]" if i.leftovers else ""
        action = "destroy" if i.destroyed_at_retention else "keep"
        typer.echo(
            f"{i.kind:<11} {i.deliberation or '-':<12} {retention:<10} "
            f"{'-' if left is None else left:>9}  {action:<11} {i.path}{gone}{leftovers}{extended}"
        )
    for number, reason in sorted(p.due.items()):
        typer.echo(f"due: deliberation {number}: {reason}")
    for problem in problems():
        typer.echo(f"unreadable catalogue record: {problem}")


@app.command("enforce")
def enforce(
    today: str | None = _TODAY,
    deliberations: Path | None = _REGISTRY,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be destroyed."),
) -> None:
    """Destroy the extracts (both phases), output requests, release histories and the key of
    every deliberation at or past its retention date, or ended by another; keep released
    bundles; write a signed destruction certificate. An interrupted run is finished first."""
    from kluis.retention.enforce import enforce as run

    day = _day(today)
    outcome = run(day, deliberations, dry_run=dry_run)
    if dry_run:
        if outcome.resumed:
            typer.echo("an interrupted destruction is pending: `enforce` finishes it first")
        if not outcome.deliberations:
            typer.echo(f"nothing is due on {day}")
        for number, reason in sorted(outcome.deliberations.items()):
            typer.echo(f"due: deliberation {number}: {reason}")
        for item in outcome.destroyed:
            if item["role"] != "absent":
                typer.echo(f"would destroy {item['kind']} ({item['role']}): {item['path']}")
        return
    if outcome.certificate is None:
        typer.echo(f"nothing is due on {day}")
        return
    if outcome.resumed:
        typer.echo("finished an interrupted destruction")
    for number, reason in sorted(outcome.deliberations.items()):
        typer.echo(f"deliberation {number}: {reason}")
    for item in outcome.destroyed:
        typer.echo(f"destroyed {item['kind']} ({item['role']}): {item['path']}")
    for item in outcome.kept:
        typer.echo(f"kept {item['kind']}: {item['path']}")
    typer.echo(f"destruction certificate (signed): {outcome.certificate}")
