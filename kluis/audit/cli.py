"""`kluis audit ...`: check and read the tamper-evident log."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
def audit_verify(
    log: Path = typer.Option(None, help="log file (default $KLUIS_AUDIT_LOG)"),
) -> None:
    """Check the hash chain of the audit log; names the first broken line."""
    from kluis.audit.log import AuditLog, default_log_path

    path = log or default_log_path()
    count = AuditLog(path).verify()
    typer.echo(f"audit log intact: {count} entries in {path}")
