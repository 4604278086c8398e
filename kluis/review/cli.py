"""`kluis review queue` and `kluis review policy` (the `serve` command is added by the release
stage, which hands the web application the release action: see kluis.release.cli)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Review output requests.")


@app.command("queue")
def queue(
    requests: Path = typer.Option(..., "--requests", help="Directory of output requests."),
) -> None:
    """The output requests under a directory with their state, as the checkers see them."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from kluis.review.store import ReviewRequest, find_requests

    if not requests.is_dir():
        raise typer.BadParameter(f"{requests}: not a directory", param_hint="--requests")
    table = Table("request", "project", "deliberation", "phase", "run by", "created", "state")
    for r in find_requests(requests):
        if isinstance(r, ReviewRequest):
            q = r.request
            state = r.state + (" (changed after the run)" if r.integrity else "")
            row = [r.id, q.project, q.deliberation, q.phase, q.run_by, q.created[:16], state]
        else:
            row = [r.path.name, "", "", "", "", "", f"cannot be read: {r.error}"]
        table.add_row(*(Text(v) for v in row))  # researcher text is never rich markup
    Console().print(table)


@app.command("policy")
def policy(
    deliberation: str = typer.Argument(..., help="Deliberation number, e.g. 26/104."),
    checkers: int = typer.Option(..., "--checkers", min=1, max=2, help="1 or 2."),
) -> None:
    """Ask for more distinct checkers per output than the deliberation does (steward only).

    It can never lower the deliberation's number."""
    from kluis import audit
    from kluis.access import acting_user
    from kluis.errors import NotPermitted
    from kluis.review.policy import set_steward_policy

    user = acting_user()
    if user.role != "steward":
        raise NotPermitted(f"not permitted: {user.name} ({user.role}) may not set review policy")
    path = set_steward_policy(deliberation, checkers)
    audit.note(deliberation=deliberation, checkers=checkers)
    typer.echo(f"{path}: outputs of {deliberation} need at least {checkers} checker(s)")
