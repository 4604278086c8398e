"""Writing a catalogued item (a warehouse, an extract) so that a killed run leaves nothing behind
that nobody knows of.

WHY: a run killed with `kill -9` cannot clean up: its hidden temporary beside the target (e.g.
`.out.tmp-<pid>-…`, pseudonymised data) stays. So the target is entered in the catalogue
(kluis.audit.catalogue) *before* anything is staged, with state "writing": the retention command
finds it there, and every later `writing` run sweeps the leftovers of dead runs beside every
catalogued target (kluis.atomic.remove_stale: only temporaries whose process is gone). On
success the caller records the finished item; on a failure the previous record is put back (or
the record removed when there was no previous item).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kluis.atomic import locked, process_alive, remove_stale, write_bytes
from kluis.audit import catalogue

Record = Callable[..., catalogue.Entry]


def sweep(kinds: tuple[str, ...] = ("warehouse", "extract")) -> list[Path]:
    """Remove the temporaries of dead runs beside every catalogued item of `kinds`, and the
    records of dead runs that never published anything."""
    removed: list[Path] = []
    for entry in catalogue.entries():
        if entry.kind not in kinds:
            continue
        target = Path(entry.path)
        removed += remove_stale(target)
        removed += _remove_unheld_lock(target)
        pid = entry.details.get("pid")
        writer_gone = isinstance(pid, int) and not process_alive(pid)
        if entry.details.get("state") == "writing" and writer_gone and not target.exists():
            entry.file.unlink(missing_ok=True)
    return removed


def _remove_unheld_lock(target: Path) -> list[Path]:
    """The lock file of a killed run: taken (never from a live holder) and removed."""
    lock = target.parent / f".{target.name}.lock"
    if not lock.exists():
        return []
    try:
        with locked(target, wait=False, remove=True):
            pass
    except (BlockingIOError, OSError):
        return []
    return [lock]


def _record_file(kind: str, path: Path) -> Path:
    return catalogue.Entry(kind, str(path), None, None, "", {}).file


@contextmanager
def writing(
    kind: str,
    path: Path | str,
    *,
    deliberation: str | None = None,
    retention: dt.date | str | None = None,
) -> Iterator[Record]:
    """Catalogue `path` as being written for the block; yields `record(**details)` to call
    once the item is in place."""
    path = Path(path).absolute()
    sweep()
    file = _record_file(kind, path)
    previous = file.read_bytes() if file.is_file() else None
    catalogue.register(
        kind, path, deliberation=deliberation, retention=retention, state="writing", pid=os.getpid()
    )
    done = False

    def record(**details: object) -> catalogue.Entry:
        nonlocal done
        done = True
        return catalogue.register(
            kind, path, deliberation=deliberation, retention=retention, state="published", **details
        )

    try:
        yield record
    finally:
        if not done:
            if previous is not None:
                write_bytes(file, previous, mode=0o600)
            else:
                file.unlink(missing_ok=True)
