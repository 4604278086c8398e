"""The review's and the release's use of the audit log, in one place.

Every decision and every release is appended to the audit log (the web application has no CLI
command around it to do so). A decision line in `decisions.jsonl` names its audit record; the
release looks that record up, so a decision that was never logged is never honoured.
"""

from __future__ import annotations

from typing import Any

from kluis.audit import AuditLog, default_log_path


def log() -> AuditLog:
    return AuditLog(default_log_path())


def append(action: str, actor: str, **details: Any) -> str:
    """Append a record; returns its hash."""
    return log().append(action, actor=actor, **details)["hash"]


def role_of(entry: dict) -> str | None:
    """The role an audit record names (a field of the record, or of its details)."""
    return entry.get("role") or entry.get("details", {}).get("role")


def find(record_hash: str) -> dict | None:
    """The audit record with this hash, or None."""
    for entry in log().entries():
        if entry.get("hash") == record_hash:
            return entry
    return None


def decisions_for(request_id: str, request_sha256: str) -> list[dict]:
    """The audit records of every decision on this request (as run, by its hash)."""
    return [
        e
        for e in log().entries()
        if e.get("action") == "review.decision"
        and e.get("details", {}).get("request") == request_id
        and e.get("details", {}).get("request_sha256") == request_sha256
    ]


def head() -> str:
    """Hash of the last record of the audit log ('' when the log is empty)."""
    last = ""
    for entry in log().entries():
        last = entry.get("hash", "")
    return last
