"""One audit record: its fields, its canonical bytes and its hash, and the damage it can show.

A record is one JSON line:

    {"seq": 41, "time": "...Z", "actor": "anna", "account": "anna", "role": "steward",
     "action": "extract", "event": "end", "deliberation": "26/104",
     "details": {...}, "prev": "<hash of record 40>", "hash": "<sha256 of this record>"}

`seq` numbers the records from 0 without gaps and `prev` chains each to the one before, so a
record that is changed, removed, inserted or moved breaks the chain where it happened, and the
numbers say which of these it was. `hash` is the SHA-256 of the canonical JSON (sorted keys, no
spaces) of every other field.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from kluis.errors import Refused

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "time",
    "actor",
    "account",
    "role",
    "action",
    "event",
    "deliberation",
    "details",
    "prev",
    "hash",
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

#: the kinds of break `verify` names (see docs/audit.md)
KINDS = (
    "changed",
    "removed",
    "inserted",
    "reordered",
    "cut",
    "rolled back",
    "bad signature",
    "damaged",
    "torn",
)


class AuditError(Refused):
    """The log is damaged or was tampered with: names the line, the kind of break and what to
    do. Exit code 1 (checked and refused), so no command runs on a log that does not verify."""

    def __init__(self, message: str, *, kind: str = "damaged", line: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.line = line


def canonical(obj: Any) -> str:
    """The one serialisation hashed and written: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def checkpoint_message(seq: int, hash_: str) -> bytes:
    """What a checkpoint signs: the position and hash of one record, which through the chain
    certifies every record before it."""
    return f"kluis-audit-checkpoint\x00{seq}\x00{hash_}".encode("ascii")


def parse_line(raw: bytes) -> dict:
    """A record from one line of the file (without its newline). Raises ValueError with what
    is wrong: not UTF-8, not JSON, not a record, a field of the wrong type."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if not text.strip():
        raise ValueError("blank line")
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:  # 100,000 nested brackets: no record, and no traceback either
        raise ValueError("not JSON (nested too deeply)") from None
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    missing = [f for f in FIELDS if f not in rec]
    if missing:
        raise ValueError(f"not an audit record (missing {', '.join(missing)})")
    extra = sorted(set(rec) - set(FIELDS))
    if extra:
        raise ValueError(f"not an audit record (unknown field {', '.join(extra)})")
    if type(rec["seq"]) is not int or rec["seq"] < 0:
        raise ValueError("seq is not a number >= 0")
    for name in ("prev", "hash"):
        if not isinstance(rec[name], str) or not _HEX64.match(rec[name]):
            raise ValueError(f"{name} is not a SHA-256 hex digest")
    if not isinstance(rec["details"], dict):
        raise ValueError("details is not an object")
    return rec


def intact(rec: dict, raw: bytes | None = None) -> bool:
    """True when the record's stated hash is the hash of its content and, given the line it was
    read from, that line is exactly as kluis writes it (no reformatting, no duplicate keys)."""
    if raw is None:
        return record_hash(rec) == rec["hash"]
    if raw != canonical(rec).encode("utf-8"):
        return False
    return hash_of_line(raw, rec["hash"]) == rec["hash"]


def hash_of_line(raw: bytes, stated: str) -> str | None:
    """The hash of a canonical line's body: the line without its "hash" member (the one that
    follows "event"; nothing after it — prev, role, seq, time — can hold that text). None when
    the line has no such member."""
    marker = b',"hash":"' + stated.encode("ascii") + b'"'
    before, found, after = raw.rpartition(marker)
    return hashlib.sha256(before + after).hexdigest() if found else None


def with_hash(body_text: str, hash_: str) -> str:
    """The canonical line of a record from the canonical text of its body and its hash: the
    "hash" member goes just before "prev" (sorted keys), the last `,"prev":"` in the text."""
    before, found, after = body_text.rpartition(',"prev":"')
    assert found, "a record body always has prev"
    return f'{before},"hash":"{hash_}","prev":"{after}'
