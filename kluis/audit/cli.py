"""`kluis audit verify|show|repair`: check, read and repair the tamper-evident log.

These run even when the log is damaged (to diagnose it); they are recorded when it can be
written.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)

_LOG = typer.Option(
    None, "--log", help="Log file (default: $KLUIS_AUDIT_LOG or ~/.kluis/audit.jsonl)."
)


@app.command("verify")
def audit_verify(
    log: Path | None = _LOG,
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="The steward's public key (default: signing.pub in the key store).",
    ),
    against: list[Path] = typer.Option(
        [],
        "--against",
        help="Also check against this head: an extract or bundle directory, its "
        "audit-head.json, or a destruction certificate. Repeatable.",
    ),
) -> None:
    """Check the chain, the signed checkpoints, the head file and every head kept elsewhere;
    names the first broken record and the kind of break."""
    from kluis.access.signing import default_public, load_public
    from kluis.audit.heads import known_heads, read_head
    from kluis.audit.log import default_log_path
    from kluis.audit.verify import verify_log
    from kluis.home import keystore_dir

    path = log or default_log_path()
    key = load_public(public_key) if public_key else default_public(keystore_dir())
    heads = known_heads(key) + [read_head(p, explicit=True) for p in against]
    report = verify_log(path, public_key=key, heads=heads)
    signers = ", ".join(sorted(report.signers)) or "-"
    typer.echo(
        f"audit log intact: {report.records} records in {report.path}; "
        f"{report.checkpoints} checkpoints, {report.signed} signed (key {signers}); "
        f"{report.heads} heads kept elsewhere match"
    )
    for line in report.notes:
        typer.echo(f"note: {line}")


@app.command("show")
def audit_show(
    log: Path | None = _LOG,
    deliberation: str | None = typer.Option(None, "--deliberation", help="e.g. 26/104"),
    actor: str | None = typer.Option(None, "--actor", help="kluis user or OS account"),
    action: str | None = typer.Option(
        None, "--action", help="command or action, e.g. extract, keys (all keys commands)"
    ),
    since: str | None = typer.Option(None, "--since", help="from this date or time (UTC)"),
    until: str | None = typer.Option(None, "--until", help="up to this date or time (UTC)"),
    json_lines: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Show the records, filtered by deliberation, actor, action and time. On a damaged log,
    shows the records before the damage, then the error."""
    from kluis.audit.log import AuditLog, default_log_path
    from kluis.audit.record import AuditError
    from kluis.audit.show import Filter, parse_time, select, table_lines
    from kluis.audit.show import json_lines as as_json

    f = Filter(
        deliberation=deliberation,
        actor=actor,
        action=action,
        since=parse_time(since) if since else None,
        until=parse_time(until, end_of_day=True, option="--until") if until else None,
    )
    records: list[dict] = []
    damage: AuditError | None = None
    try:
        for rec in AuditLog(log or default_log_path()).entries():
            records.append(rec)
    except AuditError as exc:
        damage = exc
    chosen = select(records, f)
    for line in as_json(chosen) if json_lines else table_lines(chosen):
        typer.echo(line)
    if damage is not None:
        raise damage


@app.command("repair")
def audit_repair(log: Path | None = _LOG) -> None:
    """Move a torn or garbage last line out of the log (kept beside it), or rebuild a missing
    head file; records what was done. Anything else needs the log restored from a backup."""
    from kluis.audit.log import AuditLog, default_log_path
    from kluis.audit.repair import repair

    done = repair(AuditLog(log or default_log_path()))
    details = done.record["details"]
    typer.echo(f"repaired: {done.what} (recorded as record {done.record['seq']})")
    if "kept_in" in details:
        typer.echo(f"the damaged bytes are kept in {details['kept_in']}")
