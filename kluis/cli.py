"""The one `kluis` command, and the one place that turns errors into exit codes.

Each stage contributes its own command group, registered below by module path and loaded only
when it is used, so `kluis --help` and `kluis deliberation check` do not import pandas, SciPy or
the disclosure engine. Every `KluisError` is printed as one line on stderr and mapped to its exit
code (see kluis.errors); every command is written to the audit log with its outcome.
"""

from __future__ import annotations

import importlib
import sys

import typer
from typer import _click as click  # Typer >= 0.29 vendors click; pinned in pyproject
from typer.core import TyperCommand, TyperGroup

from kluis.errors import KluisError

#: name -> ("module:attribute", one-line help). The attribute is a Typer app (a command group)
#: or a function (a single command). Order is the order of `kluis --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "warehouse": ("kluis.warehouse.cli:app", "Generate, validate and profile a warehouse."),
    "deliberation": ("kluis.deliberation.cli:app", "Check and show deliberation files."),
    "keys": ("kluis.pseudonym.cli:app", "Pseudonymisation keys and the steward's signing key."),
    "extract": ("kluis.extract.cli:extract", "Extract what a deliberation authorises."),
    "tables": ("kluis.disclosure.cli:app", "Small cell risk analysis of tables."),
    "audit": ("kluis.audit.cli:app", "The tamper-evident log of every kluis action."),
    "review": ("kluis.release.cli:review", "Review output requests: the checkers' web app."),
    "release": (
        "kluis.release.cli:app",
        "Signed bundles of approved outputs: REQUEST_DIR --out DIR; verify DIR.",
    ),
}

#: commands that read the audit log itself: they must run when the log is damaged
_NOT_LOGGED = frozenset({"audit"})


def _load(name: str) -> click.Command:
    target, help_text = COMMANDS[name]
    module, attr = target.split(":")
    obj = getattr(importlib.import_module(module), attr)
    holder = typer.Typer()
    if isinstance(obj, typer.Typer):  # a group, even when it has a single command
        holder.add_typer(obj, name=name, help=help_text)
    else:
        holder.command(name)(obj)
        holder.callback()(lambda: None)  # keep `holder` a group so `name` is its command
    return typer.main.get_command(holder).commands[name]


def _is_help(argv: list[str]) -> bool:
    return not argv or any(a in ("--help", "-h") for a in argv)


class KluisGroup(TyperGroup):
    """Loads sub-commands on demand and handles every error in one place."""

    _listing = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["kluis.argv"] = list(args)  # exactly what was asked, for the audit log
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # `kluis --help`: the one-line help, without importing the stage
            text = COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=text, short_help=text)
        return _load(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        KluisGroup._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            KluisGroup._listing = False

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        from kluis import audit

        argv = ctx.meta.get("kluis.argv", [])
        logged = not _is_help(argv) and argv[0] not in _NOT_LOGGED
        code, error = 0, None
        try:
            started = audit.command_started(argv) if logged else None
            try:
                return super().invoke(ctx)
            finally:
                exc = sys.exc_info()[1]
                if exc is not None:
                    code, error = _outcome(exc)
                if started is not None:
                    audit.command_ended(started, code, error)
        except KluisError as exc:
            _print_error(exc)
            raise typer.Exit(exc.exit_code) from None


def _outcome(exc: BaseException) -> tuple[int, str | None]:
    """Exit code and error class of an exception leaving a command."""
    from kluis.errors import exit_code_of

    if isinstance(exc, typer.Exit):
        return exc.exit_code, None
    if isinstance(exc, typer.TyperException):
        return 2, type(exc).__name__  # usage errors
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        return 1, "Aborted"
    return exit_code_of(exc), type(exc).__name__


def _print_error(exc: KluisError) -> None:
    """One plain line (or one per problem) on stderr: no markup, so a message quoting a file's
    text is printed as it is."""
    print(f"error: {exc}", file=sys.stderr)


app = typer.Typer(
    cls=KluisGroup,
    help="kluis: extract what a deliberation allows, pseudonymised and coarsened; check what "
    "may leave.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """kluis: extract what a deliberation allows, pseudonymised and coarsened; check what may
    leave."""


def main() -> None:
    """Entry point of the `kluis` script."""
    app(prog_name="kluis")


if __name__ == "__main__":  # pragma: no cover
    main()
