"""The review's and the release's use of the audit log, in one place.

Every decision and every release is appended to the audit log (the web application has no CLI
command around it to do so). A decision line in `decisions.jsonl` names its audit record; the
release looks that record up, so a decision that was never logged is never honoured. A bundle
carries the log's signed head (`audit-head.json`), so a log cut or rolled back behind it is
caught by `kluis audit verify`.

The audit stage's newer API (`record_event`, `write_head`) is used when it is there; the plain
`AuditLog.append` otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kluis import audit
from kluis.audit import AuditLog, default_log_path


def log() -> AuditLog:
    return AuditLog(default_log_path())


def append(action: str, actor: str, role: str | None = None, **details: Any) -> str:
    """Append a record of `actor` (a signed-in user, not this process's account); returns its
    hash."""
    record_event = getattr(audit, "record_event", None)
    if record_event is not None:
        return record_event(action, actor=actor, role=role, **details)["hash"]
    return log().append(action, actor=actor, role=role, **details)["hash"]


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


def write_head(directory: Path, label: str, **details: Any) -> tuple[Path, str] | None:
    """Record the publication of `directory` and put the log's signed head inside it; returns
    (the head file, the head's hash), or None when this kluis cannot sign heads."""
    writer = getattr(audit, "write_head", None)
    if writer is None:
        return None
    path = Path(writer(directory, label, **details))
    return path, json.loads(path.read_text(encoding="utf-8"))["hash"]
