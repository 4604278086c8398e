"""The audit record of one CLI command: what was asked, by whom, what it touched, how it ended.

The CLI calls `command_started` before a command runs (a damaged log fails closed: the command
does not run) and `command_ended` after it, with the exit code and error class. While it runs, a
command adds what the log must know with `note(...)`: the deliberation, the hashes of what it
read and wrote.
"""

from __future__ import annotations

from typing import Any

from kluis.audit.log import AuditLog, default_log_path

_notes: dict[str, Any] = {}


def note(**details: Any) -> None:
    """Add details (deliberation, read, wrote, ...) to the record of the running command."""
    for key, value in details.items():
        if isinstance(value, dict) and isinstance(_notes.get(key), dict):
            _notes[key].update(value)
        else:
            _notes[key] = value


def command_started(argv: list[str]) -> dict:
    """Append the start record; raises AuditError (the command must not run) when the log
    cannot be written."""
    _notes.clear()
    return AuditLog(default_log_path()).append("command", argv=list(argv))


def command_ended(started: dict, exit_code: int, error: str | None) -> dict:
    """Append the outcome record, linked to its start record."""
    details = {"started": started["hash"], "exit_code": exit_code, "error": error, **_notes}
    _notes.clear()
    return AuditLog(default_log_path()).append("outcome", **details)
