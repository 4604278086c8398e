"""The audit records of one CLI command: what was asked, by whom, what it touched, how it ended.

`kluis.cli` calls `command_started` after the arguments are parsed and before the role check
and the command run (a damaged log fails closed: nothing runs), and `command_ended` after it,
with the exit code and error class. A refusal is an `end` record with exit code 3. While it
runs, a command adds what the log must know with `note(...)`: the deliberation, the hashes of
what it read and wrote. When the steward's signing key is readable, every command's end is
followed by a signed checkpoint. `--help` is never recorded.

Records of actions outside the command line (the review application's decisions) go through
`record_event`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kluis.audit.log import AuditLog, default_log_path
from kluis.audit.record import AuditError


@dataclass
class _Running:
    path: str
    argv: list[str]
    start: dict | None
    deferred: bool = False  # recorded once, at its end (the audit commands)
    notes: dict[str, Any] = field(default_factory=dict)


_running: _Running | None = None
_RESERVED = frozenset({"event", "actor", "account", "role", "sync", "action"})


def note(**details: Any) -> None:
    """Add details (deliberation, read, wrote, ...) to the record of the running command.
    Dicts are merged (read={path: sha256} from several calls). Outside a command: ignored."""
    if _running is None:
        return
    notes = _running.notes
    for key, value in details.items():
        if isinstance(value, dict) and isinstance(notes.get(key), dict):
            notes[key].update(value)
        else:
            notes[key] = value


def reset() -> None:
    """Forget any command still marked running (a new top-level invocation begins)."""
    global _running
    _running = None


def running() -> bool:
    return _running is not None


def command_started(path: str, argv: list[str], *, deferred: bool = False) -> dict | None:
    """Append the start record of `kluis PATH` (argv as typed). Raises AuditError (the command
    must not run) when the log cannot be written. `deferred` (the audit commands, which must
    run on a damaged log to diagnose it, and should not add to the log they are examining):
    nothing now, one record at the end if the log can be written then."""
    global _running
    start = None
    if not deferred:
        start = AuditLog(default_log_path()).append(path, event="start", argv=list(argv))
    _running = _Running(path=path, argv=list(argv), start=start, deferred=deferred)
    return start


def command_ended(
    exit_code: int, error: BaseException | None, *, path: str = "", argv: list[str] | None = None
) -> dict | None:
    """Append the outcome record (exit code, error class, notes) and, when the steward's key is
    readable, a signed checkpoint. For a command that never started (a usage error), one
    record with its argv."""
    global _running
    run, _running = _running, None
    if run is not None and run.deferred:
        try:
            return _end(run.path, exit_code, error, {}, list(run.argv), dict(run.notes))
        except AuditError:
            return None  # the log it examined is damaged: nothing more to say there
    return _end(
        run.path if run is not None else (path or "kluis"),
        exit_code,
        error,
        {} if run is None or run.start is None else {"started": run.start["seq"]},
        list(argv or []) if run is None else None,
        {} if run is None else dict(run.notes),
    )


def _end(
    path: str,
    exit_code: int,
    error: BaseException | None,
    link: dict,
    argv: list[str] | None,
    notes: dict[str, Any],
) -> dict:
    """Append an end record and, when the steward's key is readable, a signed checkpoint."""
    details: dict[str, Any] = {"exit_code": exit_code, "error": _error_class(error), **link}
    if error is not None and exit_code != 0:
        details["message"] = str(error).splitlines()[0][:500] if str(error) else ""
    if argv is not None:
        details["argv"] = argv
    deliberation = notes.pop("deliberation", None)
    merged = {(f"note_{k}" if k in _RESERVED else k): v for k, v in notes.items()}
    merged.update(details)
    log = AuditLog(default_log_path())
    rec = log.append(
        path,
        event="end",
        deliberation=None if deliberation is None else str(deliberation),
        sync=True,
        **merged,
    )
    from kluis.audit.heads import signing_key

    key = signing_key()
    if key is not None:
        log.checkpoint(key, reason=f"end of {rec['action']}")
    return rec


def _error_class(error: BaseException | None) -> str | None:
    if error is None:
        return None
    name = type(error).__name__
    return None if name == "Exit" else name


def record_event(
    action: str,
    *,
    actor: str,
    role: str | None,
    deliberation: str | None = None,
    **details: Any,
) -> dict:
    """Record an action taken outside the command line, e.g. a checker's decision in the
    review application (`actor` is the signed-in user; the OS account is the server's)."""
    from kluis.access.users import current_account

    return AuditLog(default_log_path()).append(
        action,
        event="event",
        actor=actor,
        account=current_account(),
        role=role,
        deliberation=deliberation,
        sync=True,
        **details,
    )
