"""A hash-chained JSON-lines log.

Each entry holds the SHA-256 of the previous entry, so editing, deleting or reordering any line
breaks the chain at that line, which `verify` names. Appends take an exclusive file lock so two
processes cannot interleave half-lines.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kluis.errors import Refused

GENESIS = "0" * 64


class AuditError(Refused):
    """The log is broken: names the line and what is wrong."""


def default_log_path() -> Path:
    """`$KLUIS_AUDIT_LOG`, else $KLUIS_HOME/audit.jsonl (see kluis.home)."""
    from kluis.home import audit_log_path

    return audit_log_path()


def _digest(entry: dict) -> str:
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def append(self, action: str, actor: str | None = None, **details: object) -> dict:
        """Record `action`; returns the entry with its hash."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            last = None
            for line in fh:
                if line.strip():
                    last = line
            prev = json.loads(last)["hash"] if last else GENESIS
            entry = {
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "actor": actor or os.environ.get("USER", "unknown"),
                "action": action,
                "details": details,
                "prev": prev,
            }
            entry["hash"] = _digest(entry)
            fh.write(json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return entry

    def entries(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise AuditError(f"{self.path}:{number}: not valid JSON ({exc.msg})") from exc

    def verify(self) -> int:
        """Check the whole chain; returns the number of entries, raises AuditError at the
        first broken line."""
        prev = GENESIS
        count = 0
        for count, entry in enumerate(self.entries(), start=1):
            if entry.get("prev") != prev:
                raise AuditError(
                    f"{self.path}:{count}: chain broken (entry does not follow the "
                    "previous one: a line was removed, inserted or reordered)"
                )
            stated = entry.get("hash")
            body = {k: v for k, v in entry.items() if k != "hash"}
            if _digest(body) != stated:
                raise AuditError(f"{self.path}:{count}: entry was altered after it was written")
            prev = stated
        return count
