"""decisions.jsonl: the checkers' decisions on one output request, and its releases.

One JSON object per line, appended under `kluis.atomic.locked` and never rewritten. Each line
carries the hash of the line before it (`prev`) and its own (`hash`), so an edited, removed or
reordered line is named by `read_records`; each decision also names the audit-log record that
was written with it (`audit`), which the release checks, so a decision typed into the file by
hand is never honoured.

    {"kind": "decision", "id": ..., "time": ..., "request": ..., "request_sha256": ...,
     "output": ..., "checker": ..., "verdict": "approve"|"reject", "comment": ...,
     "files": {path: sha256}, "audit": ..., "prev": ..., "hash": ...}
    {"kind": "release", "id": ..., "time": ..., "request": ..., "by": ..., "bundle": ...,
     "release_sha256": ..., "outputs": [...], "audit": ..., "prev": ..., "hash": ...}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kluis.enclave.request import DECISIONS_FILE, RequestError
from kluis.jsonfile import JsonFileError, loads

GENESIS = "0" * 64
VERDICTS = ("approve", "reject")


@dataclass(frozen=True)
class Decision:
    """One checker's verdict on one output."""

    id: str
    time: str
    request: str
    request_sha256: str
    output: str
    checker: str
    verdict: str
    comment: str
    files: dict[str, str] = field(default_factory=dict)
    audit: str = ""
    kind: str = "decision"

    @property
    def approves(self) -> bool:
        return self.verdict == "approve"


@dataclass(frozen=True)
class ReleaseRecord:
    """A bundle made from this request."""

    id: str
    time: str
    request: str
    by: str
    bundle: str
    release_sha256: str
    outputs: list[str] = field(default_factory=list)
    audit: str = ""
    kind: str = "release"


Record = Decision | ReleaseRecord


def _digest(body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def decisions_path(request_dir: Path) -> Path:
    return Path(request_dir) / DECISIONS_FILE


def _parse(path: Path, number: int, line: str, prev: str) -> tuple[Record, str]:
    try:
        data = loads(line, str(path), line=number)
    except JsonFileError as exc:
        raise RequestError(str(exc)) from None
    if not isinstance(data, dict):
        raise RequestError(f"{path}:{number}: not a JSON object")
    stated = data.pop("hash", None)
    if data.pop("prev", None) != prev:
        raise RequestError(
            f"{path}:{number}: does not follow the line before it (a decision was removed, "
            "inserted or reordered)"
        )
    if _digest({**data, "prev": prev}) != stated:
        raise RequestError(f"{path}:{number}: the record was changed after it was written")
    kind = data.get("kind")
    cls = {"decision": Decision, "release": ReleaseRecord}.get(kind)
    if cls is None:
        raise RequestError(f"{path}:{number}: unknown record kind {kind!r}")
    try:
        record = cls(**data)
    except TypeError as exc:
        raise RequestError(f"{path}:{number}: malformed {kind} record ({exc})") from None
    if isinstance(record, Decision) and record.verdict not in VERDICTS:
        raise RequestError(f"{path}:{number}: verdict {record.verdict!r} is not approve/reject")
    return record, stated


def read_records(request_dir: Path) -> list[Record]:
    """Every record of the request, in order; RequestError naming the first broken line."""
    path = decisions_path(request_dir)
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestError(f"{path}: cannot read the decisions: {exc}") from None
    out: list[Record] = []
    prev = GENESIS
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raise RequestError(f"{path}:{number}: blank line inserted")
        record, prev = _parse(path, number, line, prev)
        out.append(record)
    if text and not text.endswith("\n"):
        raise RequestError(f"{path}: the last record is cut off")
    return out


def head(request_dir: Path) -> str:
    """Hash of the last record (GENESIS when there is none)."""
    path = decisions_path(request_dir)
    if not path.exists():
        return GENESIS
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[-1])["hash"] if lines else GENESIS


def append_record(request_dir: Path, record: Record) -> dict:
    """Append `record` after the current last line. The caller holds the request's lock and has
    read (and so checked) the file."""
    path = decisions_path(request_dir)
    body = {**asdict(record), "prev": head(request_dir)}
    line = {**body, "hash": _digest(body)}
    text = json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return line
