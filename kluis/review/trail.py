"""The review's and the release's use of the audit log, in one place.

Every decision and every release is appended to the audit log (the web application has no CLI
command around it to do so). A decision line in `decisions.jsonl` names its audit record; the
release looks that record up, so a decision that was never logged is never honoured. A bundle
carries the log's signed head (`audit-head.json`), so a log cut or rolled back behind it is
caught by `kluis audit verify`.

A request is reviewed only if the audit log holds the enclave run that wrote it (its
request.json's sha256, noted by `kluis enclave run`): a request.json written or edited by
anyone else (to claim the checks passed, to drop a researcher) is refused.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from kluis.audit import AuditLog, default_log_path, record_event
from kluis.audit import write_head as _write_head


def log() -> AuditLog:
    return AuditLog(default_log_path())


def append(action: str, actor: str, role: str | None = None, **details: Any) -> str:
    """Append a record of `actor` (a signed-in user, not this process's account); returns its
    hash."""
    return record_event(action, actor=actor, role=role, **details)["hash"]


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


def write_head(directory: Path, label: str, **details: Any) -> tuple[Path, str]:
    """Record the publication of `directory` and put the log's signed head inside it
    (`audit-head.json`); returns (the head file, the head's hash)."""
    path = Path(_write_head(directory, label, **details))
    return path, json.loads(path.read_text(encoding="utf-8"))["hash"]


def enclave_requests() -> frozenset[str]:
    """sha256 of every request.json a finished `kluis enclave run` wrote (from the audit log;
    read once per version of the log)."""
    path = default_log_path()
    try:
        st = path.stat()
    except OSError:
        return frozenset()
    return _enclave_requests(str(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _enclave_requests(path: str, _ino: int, _size: int, _mtime: int) -> frozenset[str]:
    found = set()
    for e in AuditLog(Path(path)).entries():
        details = e.get("details", {})
        if (
            str(e.get("action", "")).startswith("enclave")
            and e.get("event") == "end"
            and details.get("exit_code") == 0
            and isinstance(details.get("request_sha256"), str)
        ):
            found.add(details["request_sha256"])
    return frozenset(found)
