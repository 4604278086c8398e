"""The one `kluis` command, and the one place that turns errors into exit codes.

Each stage contributes its own command group, registered below by module path and loaded only
when it is used, so `kluis --help` and `kluis deliberation check` do not import pandas, SciPy or
the disclosure engine. Every `KluisError` is printed as one line on stderr and mapped to its exit
code (see kluis.errors). Every command, once its arguments are parsed and before it runs, is
written to the audit log and checked against the acting user's role (kluis.access.commands:
one rule per command path, a command without one is refused); its outcome is written after it.
`--help` is neither checked nor recorded.
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
    "risk": ("kluis.risk.cli:risk", "Re-identification risk of development data, lowered."),
    "tables": ("kluis.disclosure.cli:app", "Small cell risk analysis of tables."),
    "audit": ("kluis.audit.cli:app", "The tamper-evident log of every kluis action."),
    "users": ("kluis.access.cli:app", "Who may use kluis, and in which role."),
    "retention": ("kluis.retention.cli:app", "What is kept until when; destroy at the date."),
    "enclave": ("kluis.enclave.cli:app", "Run researcher projects in the sandbox, checked."),
    "review": ("kluis.release.cli:review", "Review output requests: the checkers' web app."),
    "release": (
        "kluis.release.cli:app",
        "Signed bundles of approved outputs: REQUEST_DIR --out DIR; verify DIR.",
    ),
}

#: commands that examine the audit log itself: they run when the log is damaged, and are
#: recorded after they ran (when the log can be written), not before
_DEFERRED_LOG = frozenset({"audit"})


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
    command = typer.main.get_command(holder).commands[name]
    _guard(command, (name,))
    return command


def _guard(command: click.Command, path: tuple[str, ...]) -> None:
    """Make every leaf command record its start and check the role when it is about to run:
    after its arguments are parsed (so `--help` and usage errors never get here) and before
    its code runs."""
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            _guard(sub, (*path, name))
        return
    original = command.invoke

    def invoke(ctx: click.Context, _original=original, _path=" ".join(path)):  # type: ignore[no-untyped-def]
        from kluis import audit
        from kluis.access.commands import authorize

        argv = ctx.find_root().meta.get("kluis.argv", [])
        audit.command_started(_path, argv, deferred=path[0] in _DEFERRED_LOG)
        authorize(_path, ctx.params)
        return _original(ctx)

    command.invoke = invoke  # type: ignore[method-assign]


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
        argv = ctx.meta.get("kluis.argv", [])
        audit_commands = importlib.import_module("kluis.audit.commands")
        audit_commands.reset()
        try:
            try:
                result = super().invoke(ctx)
            except BaseException as exc:
                _record_end(audit_commands, argv, exc)
                raise
            _record_end(audit_commands, argv, None)
            return result
        except KluisError as exc:
            _print_error(exc)
            raise typer.Exit(exc.exit_code) from None


def _record_end(audit_commands, argv: list[str], exc: BaseException | None) -> None:  # type: ignore[no-untyped-def]
    """Write the outcome record. Nothing for `--help`, nor when the start record itself could
    not be written (the log is damaged: that error is what the user sees). When the outcome
    cannot be written after a failed command, both errors are shown."""
    from kluis.audit.record import AuditError

    if not audit_commands.running() and (_is_help(exc) or isinstance(exc, AuditError)):
        return
    code = 0 if exc is None else _outcome(exc)
    try:
        audit_commands.command_ended(code, exc, path=" ".join(argv[:1]), argv=argv)
    except AuditError as failed:
        if exc is None:
            raise AuditError(
                f"the command ran, but its outcome could not be recorded: {failed}",
                kind=failed.kind,
                line=failed.line,
            ) from None
        if not isinstance(exc, KluisError):
            raise
        _print_error(KluisError(f"the outcome was not recorded: {failed}"))


def _is_help(exc: BaseException | None) -> bool:
    """`--help` (click exits 0 before the command runs) or a group called without a command."""
    from typer._click.exceptions import NoArgsIsHelpError

    if isinstance(exc, NoArgsIsHelpError):
        return True
    if isinstance(exc, SystemExit):  # Typer prints a group's help when it is given no command
        return True
    return isinstance(exc, typer.Exit) and exc.exit_code == 0


def _outcome(exc: BaseException) -> int:
    """The exit code of an exception leaving a command."""
    from kluis.errors import exit_code_of

    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, click.ClickException):
        return exc.exit_code  # usage errors: 2
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        return 1
    return exit_code_of(exc)


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
