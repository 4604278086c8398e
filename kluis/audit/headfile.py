"""The head file beside the log (`audit.jsonl.head`): the last record kluis itself wrote.

Before each append kluis states the record it is about to write (`pending`), and after it the
record it wrote (`seq`, `hash`). So the next append, and `kluis audit verify`, can tell an
interrupted append (the log ends at `seq`, or at `pending`) from a log whose tail was cut (it ends
before `seq`) or that got a record kluis did not write (it ends after). It is one small
fixed-size block rewritten in place: cheap enough for every append.

It is a tripwire, not a proof: whoever can write the log can write this file too. What they
cannot forge are the signed checkpoints and the heads kept elsewhere (see kluis.audit.heads).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kluis.audit.record import AuditError
from kluis.jsonfile import loads

SIZE = 512


@dataclass(frozen=True)
class Position:
    seq: int
    hash: str


@dataclass(frozen=True)
class HeadState:
    last: Position | None  # the last record written (None: the log was empty)
    pending: Position | None = None  # a record being written


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def _pos(obj: object) -> Position | None:
    if obj is None:
        return None
    if (
        isinstance(obj, dict)
        and type(obj.get("seq")) is int
        and isinstance(obj.get("hash"), str)
        and len(obj["hash"]) == 64
    ):
        return Position(obj["seq"], obj["hash"])
    raise ValueError("bad position")


def _parse(raw: bytes, path: Path) -> HeadState | None:
    if not raw.strip():
        return None  # missing, or created empty by an append that then stopped
    try:
        data = loads(raw, str(path))
        return HeadState(_pos(data["last"]), _pos(data.get("pending")))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise AuditError(
            f"{path}: the audit head file is damaged; check the log with `kluis audit verify`, "
            "then rebuild it with `kluis audit repair`",
            kind="damaged",
        ) from None


def read(log: Path) -> HeadState | None:
    """The head file's state; None when there is none. AuditError when it is damaged."""
    path = head_path(log)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(f"{path}: cannot read the audit head file ({exc.strerror})") from None
    return _parse(raw, path)


def _encode(state: HeadState) -> bytes:
    def enc(p: Position | None) -> dict | None:
        return None if p is None else {"seq": p.seq, "hash": p.hash}

    body = json.dumps({"last": enc(state.last), "pending": enc(state.pending)})
    return body.encode("ascii").ljust(SIZE - 1, b" ") + b"\n"


class Open:
    """The head file held open for one append (the caller holds the log's lock)."""

    def __init__(self, log: Path) -> None:
        self.path = head_path(log)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditError(
                f"{self.path}: cannot open the audit head file ({exc.strerror})"
            ) from None

    def read(self) -> HeadState | None:
        return _parse(os.pread(self.fd, 4 * SIZE, 0), self.path)

    def write(self, state: HeadState) -> None:
        os.pwrite(self.fd, _encode(state), 0)

    def close(self) -> None:
        os.close(self.fd)


def write(log: Path, state: HeadState) -> None:
    """Rewrite the head file in place (the caller holds the log's lock)."""
    fd = os.open(head_path(log), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, _encode(state), 0)
    finally:
        os.close(fd)


def remove(log: Path) -> None:
    head_path(log).unlink(missing_ok=True)
