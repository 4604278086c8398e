"""The audit log file: hash-chained JSON lines, appended in constant time, failing closed.

Appending reads only the last line (never the whole file), checks it against the head file
(kluis.audit.headfile), and writes one line under an exclusive lock. A log that is damaged
(a torn or garbage last line, a directory in its place, a head file that disagrees) raises
`AuditError` naming the line and how to repair it, so the command that wanted to write it does not
run. `kluis audit verify` (kluis.audit.verify) checks the whole chain.

Durability: a record is written with one write(2), so a killed process never loses a written
record. Records that must survive a machine crash (each command's outcome, every checkpoint) are
also flushed to disk (`sync=True`); flushing every record would cost ~2.5 ms each on this machine.
The file is mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kluis.audit import headfile
from kluis.audit.headfile import HeadState, Position
from kluis.audit.record import (
    GENESIS,
    AuditError,
    canonical,
    hash_of_line,
    parse_line,
    with_hash,
)

CHUNK = 64 * 1024
TAIL = 4096  # a record is a few hundred bytes: one read of the tail usually holds it
MAX_LINE = 4 * 1024 * 1024  # a record is a few hundred bytes; a "line" longer than this is junk

REPAIR_HINT = (
    "see what is wrong with `kluis audit verify`, then run `kluis audit repair` (it keeps the "
    "damaged bytes and records the repair) or restore the log from a backup"
)
RESTORE_HINT = (
    "nothing runs until it is resolved: see `kluis audit verify`, then restore the log and its "
    "head file from a backup"
)


def default_log_path() -> Path:
    """`$KLUIS_AUDIT_LOG`, else $KLUIS_HOME/audit.jsonl (see kluis.home)."""
    from kluis.home import audit_log_path

    return audit_log_path()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _position(rec: dict | None) -> Position | None:
    return None if rec is None else Position(rec["seq"], rec["hash"])


def count_lines(path: Path, end: int | None = None) -> int:
    """Newlines in the first `end` bytes of `path` (error paths only: reads the file)."""
    n = 0
    with open(path, "rb") as fh:
        left = end
        while left is None or left > 0:
            block = fh.read(CHUNK if left is None else min(CHUNK, left))
            if not block:
                break
            n += block.count(b"\n")
            if left is not None:
                left -= len(block)
    return n


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass(frozen=True)
class AuditLog:
    """The log at `path`. Cheap to create: it holds no open file."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).absolute())

    # ---- opening -------------------------------------------------------------------------

    def _refuse_non_file(self) -> None:
        if self.path.is_dir():
            raise AuditError(
                f"audit log {self.path} is a directory, not the log: nothing runs until the log "
                "is back; move the directory away and restore the log from a backup",
                kind="damaged",
                line=None,
            )
        if self.path.exists() and not self.path.is_file():
            raise AuditError(f"audit log {self.path} is not a regular file", kind="damaged")

    @contextmanager
    def _locked(self, *, create: bool) -> Iterator[int]:
        """The log opened for appending under an exclusive lock (no stat before the open: a
        directory or a missing parent is found by the open itself)."""
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except IsADirectoryError:
            self._refuse_non_file()
            raise
        except FileNotFoundError:
            if self.path.parent.exists() or not create:
                raise
            from kluis.home import private_dir

            private_dir(self.path.parent)
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise AuditError(
                f"audit log {self.path}: cannot open it for appending ({exc.strerror})",
                kind="damaged",
            ) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise AuditError(f"audit log {self.path} is not a regular file", kind="damaged")
            if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
                os.fchmod(fd, 0o600)  # the log says who did what: its owner's eyes only
            if st.st_size == 0:  # a new log: its directory is private too
                parent = os.stat(self.path.parent)
                if stat.S_IMODE(parent.st_mode) & 0o077 and parent.st_uid == os.getuid():
                    os.chmod(self.path.parent, 0o700)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    # ---- the last record, from the tail only -----------------------------------------------

    def _damaged(self, line_start: int, what: str, kind: str) -> AuditError:
        line = count_lines(self.path, line_start) + 1
        return AuditError(
            f"audit log {self.path}:{line}: {what}; nothing runs on a damaged log: {REPAIR_HINT}",
            kind=kind,
            line=line,
        )

    def last_line(self, fd: int) -> tuple[int, bytes] | None:
        """(offset, bytes) of the last line, without its newline; None for an empty file.
        AuditError when the file does not end with a newline (a torn write)."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        tail = os.pread(fd, min(size, TAIL), size - min(size, TAIL))
        if not tail.endswith(b"\n"):
            start = self._line_start(fd, size)
            raise self._damaged(start, "the last line is incomplete (a torn write)", "torn")
        i = tail.rfind(b"\n", 0, len(tail) - 1)
        if i >= 0 or len(tail) == size:  # the whole last line is in the tail
            return size - len(tail) + i + 1, tail[i + 1 : -1]
        start = self._line_start(fd, size - 1)
        return start, os.pread(fd, size - 1 - start, start)

    def _line_start(self, fd: int, end: int) -> int:
        """Offset just after the last newline before `end` (0 if none)."""
        pos = end
        while pos > 0:
            read_from = max(0, pos - CHUNK)
            block = os.pread(fd, pos - read_from, read_from)
            i = block.rfind(b"\n")
            if i >= 0:
                return read_from + i + 1
            pos = read_from
            if end - pos > MAX_LINE:
                return pos
        return 0

    def last_record(self, fd: int) -> dict | None:
        """The last record, checked on its own: complete, a record, its hash right."""
        found = self.last_line(fd)
        if found is None:
            return None
        start, raw = found
        if len(raw) > MAX_LINE:
            raise self._damaged(start, "the last line is not an audit record (too long)", "damaged")
        try:
            rec = parse_line(raw)
        except ValueError as exc:
            kind = "inserted" if str(exc) == "blank line" else "damaged"
            raise self._damaged(
                start, f"the last line is not an audit record: {exc}", kind
            ) from None
        if hash_of_line(raw, rec["hash"]) != rec["hash"]:
            raise self._damaged(
                start, "the last record was changed after it was written", "changed"
            )
        return rec

    def _check_head(self, last: dict | None, state: HeadState | None) -> None:
        """Fail closed unless the log ends where kluis last left it (or mid-append)."""
        pos = _position(last)
        if state is None:
            if last is None:
                return
            raise AuditError(
                f"audit log {self.path}: its head file {headfile.head_path(self.path).name} is "
                f"missing (the log ends at record {last['seq']}); {REPAIR_HINT}",
                kind="damaged",
            )
        if pos == state.last or (state.pending is not None and pos == state.pending):
            return
        ends = -1 if pos is None else pos.seq
        wrote = -1 if state.last is None else state.last.seq
        if ends < wrote:
            raise AuditError(
                f"audit log {self.path}:{ends + 2}: cut: the log ends at record {ends} but kluis "
                f"last wrote record {wrote} (head file): records were cut or an older copy was "
                f"put back; {RESTORE_HINT}",
                kind="cut",
                line=ends + 2,
            )
        if ends > wrote:
            raise AuditError(
                f"audit log {self.path}:{wrote + 2}: inserted: records {wrote + 1}..{ends} were "
                f"not written by kluis (it last wrote record {wrote}); {RESTORE_HINT}",
                kind="inserted",
                line=wrote + 2,
            )
        raise AuditError(
            f"audit log {self.path}:{ends + 1}: changed: the last record is not the one kluis "
            f"wrote; {RESTORE_HINT}",
            kind="changed",
            line=ends + 1,
        )

    # ---- appending -------------------------------------------------------------------------

    def append(
        self,
        action: str,
        *,
        event: str = "event",
        actor: str | None = None,
        account: str | None = None,
        role: str | None = None,
        deliberation: str | None = None,
        sync: bool = False,
        **details: Any,
    ) -> dict:
        """Append one record; returns it (with `seq` and `hash`). Raises AuditError, writing
        nothing, when the log is damaged. Without `actor`, the acting kluis user of this OS
        account is recorded (never $USER)."""
        if actor is None and account is None:
            from kluis.access.identity import identify

            actor, account, role = identify()
        fields = {
            "actor": actor,
            "account": account,
            "role": role,
            "action": action,
            "event": event,
            "deliberation": deliberation,
        }
        return self._append(fields, lambda last: details, sync=sync)

    def checkpoint(self, key: Any, reason: str = "") -> dict:
        """Append a checkpoint certifying the record before it (and, through the chain, every
        record before that), signed with `key` (a kluis.access.signing.SigningKey) or unsigned
        when None. Always flushed to disk."""
        from kluis.access.identity import identify
        from kluis.audit.record import checkpoint_message

        actor, account, role = identify()

        def details(last: dict | None) -> dict:
            if last is None:
                raise AuditError(f"audit log {self.path}: nothing to certify (the log is empty)")
            message = checkpoint_message(last["seq"], last["hash"])
            return {
                "seq": last["seq"],
                "hash": last["hash"],
                "signer": None if key is None else key.fingerprint,
                "signature": None if key is None else key.sign_b64(message),
                "reason": reason,
            }

        fields = {
            "actor": actor,
            "account": account,
            "role": role,
            "action": "checkpoint",
            "event": "checkpoint",
            "deliberation": None,
        }
        return self._append(fields, details, sync=True)

    def _append(self, fields: dict, details: Any, *, sync: bool) -> dict:
        with self._locked(create=True) as fd:
            head = headfile.Open(self.path)
            try:
                last = self.last_record(fd)
                self._check_head(last, head.read())
                body: dict[str, Any] = {
                    "seq": 0 if last is None else last["seq"] + 1,
                    "time": now(),
                    **fields,
                    "details": details(last),
                    "prev": GENESIS if last is None else last["hash"],
                }
                text = canonical(body)
                rec = {**body, "hash": hashlib.sha256(text.encode("utf-8")).hexdigest()}
                line = (with_hash(text, rec["hash"]) + "\n").encode("utf-8")
                head.write(HeadState(_position(last), _position(rec)))
                _write_all(fd, line)
                if sync:
                    os.fdatasync(fd)
                head.write(HeadState(_position(rec)))
            finally:
                head.close()
        return rec

    def head(self) -> dict | None:
        """The last record (checked on its own), or None for an empty or missing log."""
        self._refuse_non_file()
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return self.last_record(fd)
        finally:
            os.close(fd)

    def first(self) -> dict | None:
        """Record 0 (it names the log: a head of another log starts elsewhere)."""
        if not self.path.is_file():
            return None
        with open(self.path, "rb") as fh:
            raw = fh.readline(MAX_LINE)
        try:
            rec = parse_line(raw.rstrip(b"\n"))
        except ValueError:
            return None
        return rec if rec["seq"] == 0 else None

    # ---- reading -------------------------------------------------------------------------

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, raw bytes including the newline if any) of every line."""
        self._refuse_non_file()
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            yield from enumerate(fh, start=1)

    def entries(self) -> Iterator[dict]:
        """Every record in file order; AuditError at the first line that is not one (for
        reading, e.g. `kluis audit show`; `verify` checks the chain)."""
        for number, raw in self.lines():
            if not raw.endswith(b"\n"):
                raise AuditError(
                    f"audit log {self.path}:{number}: the last line is incomplete (a torn write)",
                    kind="torn",
                    line=number,
                )
            try:
                yield parse_line(raw[:-1])
            except ValueError as exc:
                raise AuditError(
                    f"audit log {self.path}:{number}: not an audit record: {exc}", line=number
                ) from None

    def verify(self) -> int:
        """Check the whole log (see kluis.audit.verify); returns the number of records."""
        from kluis.audit.verify import verify_log

        return verify_log(self.path).records
