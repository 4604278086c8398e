"""`kluis audit repair`: the two repairs that lose no evidence, each recorded in the log.

1. A torn or garbage tail (a write cut short by a full disk or a killed process, or bytes that
   are no record): the bad lines after the last sound record are moved into
   `audit.jsonl.damaged-<time>` (kept, mode 0600) and the log is cut back to that record.
2. A missing or damaged head file while the log's end is sound: it is rebuilt from the log.

Anything else — a record changed, removed or moved in the middle, a log that ends before or after
where kluis last wrote — is not repaired: restoring the log from a backup is the only honest fix
(or moving the log and its head file aside, kept, to start a new one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from kluis.audit import headfile
from kluis.audit.headfile import HeadState, Position
from kluis.audit.log import AuditLog
from kluis.audit.record import AuditError, intact, parse_line
from kluis.errors import Refused


@dataclass(frozen=True)
class Repaired:
    what: str
    record: dict


def _sound_end(log: AuditLog, fd: int) -> tuple[int, dict | None]:
    """(offset after the last sound record, that record), skipping bad lines at the end."""
    end = os.fstat(fd).st_size
    while end > 0:
        # the line ending at `end` (exclusive of a final newline, if any)
        stop = end - 1 if os.pread(fd, 1, end - 1) == b"\n" else end
        start = log._line_start(fd, stop)
        raw = os.pread(fd, stop - start, start)
        try:
            rec = parse_line(raw)
            if intact(rec, raw) and stop < end:  # complete and sound
                return end, rec
        except ValueError:
            pass
        end = start
    return 0, None


def repair(log: AuditLog) -> Repaired:
    """Repair what can be repaired without losing evidence; Refused when nothing can be."""
    if log.path.is_dir():
        raise Refused(
            f"audit log {log.path} is a directory: move it away and restore the log from a backup"
        )
    if not log.path.exists():
        raise Refused(f"audit log {log.path} does not exist: restore it from a backup")
    with open(log.path, "r+b") as fh:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        fd = fh.fileno()
        size = os.fstat(fd).st_size
        end, last = _sound_end(log, fd)
        if end < size:
            damaged = os.pread(fd, size - end, end)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            keep = log.path.with_name(f"{log.path.name}.damaged-{stamp}")
            kfd = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(kfd, "wb") as out:
                out.write(damaged)
                out.flush()
                os.fsync(out.fileno())
            first_line = 1 + (0 if last is None else last["seq"] + 1)
            os.ftruncate(fd, end)
            os.fsync(fd)
            what = {
                "repair": "damaged tail moved out",
                "from_line": first_line,
                "bytes": len(damaged),
                "sha256": hashlib.sha256(damaged).hexdigest(),
                "kept_in": str(keep),
            }
        else:
            what = {}
    state = _head_state(log)
    pos = None if last is None else Position(last["seq"], last["hash"])
    if state is None or state == "damaged":
        headfile.write(log.path, HeadState(pos))
        what.setdefault("repair", "head file rebuilt")
        what["head_file"] = "missing" if state is None else "damaged"
    elif not (pos == state.last or (state.pending is not None and pos == state.pending)):
        raise Refused(
            f"audit log {log.path}: it does not end where kluis last wrote (record "
            f"{None if state.last is None else state.last.seq}); restore it from a backup, or "
            "move the log and its head file aside (keep them) to start a new log"
        )
    if not what:
        raise Refused(
            f"audit log {log.path}: nothing to repair (check it with `kluis audit verify`)"
        )
    record = log.append("audit repair", event="repair", sync=True, **what)
    return Repaired(what=str(what["repair"]), record=record)


def _head_state(log: AuditLog) -> HeadState | str | None:
    try:
        return headfile.read(log.path)
    except AuditError:
        return "damaged"


def quarantined(log: AuditLog) -> list[Path]:
    """The `.damaged-*` files kept beside the log."""
    return sorted(log.path.parent.glob(f"{log.path.name}.damaged-*"))
