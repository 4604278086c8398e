"""The one `kluis` command. Each part of kluis contributes its own sub-command group."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from kluis.audit import AuditError, AuditLog, default_log_path
from kluis.deliberation.cli import app as deliberation_app
from kluis.disclosure.cli import app as tables_app
from kluis.extract.cli import register as register_extract
from kluis.pseudonym.cli import app as keys_app
from kluis.warehouse.cli import app as warehouse_app


class _RecordingGroup(TyperGroup):
    """Keeps the raw arguments so the audit log records exactly what was asked."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        ctx.meta["kluis.argv"] = list(args)
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RecordingGroup,
    help="kluis: extract what a deliberation allows, pseudonymised and coarsened.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(warehouse_app, name="warehouse", help="Generate, validate and profile a warehouse.")
app.add_typer(deliberation_app, name="deliberation", help="Check and show deliberation files.")
app.add_typer(keys_app, name="keys", help="Per-deliberation pseudonymisation keys.")
app.add_typer(tables_app, name="tables", help="Small cell risk analysis of tables.")
register_extract(app)  # adds the top-level `kluis extract` command

audit_app = typer.Typer(no_args_is_help=True)
app.add_typer(audit_app, name="audit", help="The tamper-evident log of every kluis action.")


@app.callback()
def _log_invocation(ctx: typer.Context) -> None:
    """Every command is written to the hash-chained audit log before it runs."""
    if ctx.invoked_subcommand and ctx.invoked_subcommand != "audit":
        AuditLog(default_log_path()).append(
            "cli", argv=ctx.meta.get("kluis.argv", [ctx.invoked_subcommand])
        )


@audit_app.command("verify")
def audit_verify(log: str = typer.Option(None, help="log file (default $KLUIS_AUDIT_LOG)")) -> None:
    """Check the hash chain of the audit log; names the first broken line."""
    from pathlib import Path

    path = Path(log) if log else default_log_path()
    try:
        count = AuditLog(path).verify()
    except AuditError as exc:
        typer.echo(f"audit log BROKEN: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"audit log intact: {count} entries in {path}")


if __name__ == "__main__":  # pragma: no cover
    app()
