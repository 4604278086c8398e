"""Release history: what already left the secure environment counts as published.

One directory per deliberation (`$KLUIS_HOME/history/<slug>/`), one numbered release record per
released table (record.py). A new table is audited with every earlier release that shares
persons with it (linked.py), whatever their labels, statistics or recodes.

Releases into one history are serialised by a lock: the audit of a new table and its recording
happen under it, so two concurrent releases never take the same number and each is audited
against everything recorded before it. Recording a table and publishing its outputs are one
step: a journal (`.pending.json`) names both before either happens; the record is put in place
first (from then on the table counts as released), the outputs second. A run killed in between
is finished by the next run (or undone, if the record was not yet in place), so a table is
never published without being recorded.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kluis import atomic
from kluis.disclosure.linked import audit_linked
from kluis.disclosure.record import Record, read_record, record_of, write_record
from kluis.disclosure.slices import slice_findings
from kluis.errors import BadInput
from kluis.jsonfile import read_json

__all__ = ["History", "HistoryError", "PUBLICATION_MARK", "publication_id", "write_record"]

_RELEASE = re.compile(r"^(\d{5})-")
_TEMPORARY = re.compile(r"^\.(.+)\.(?:tmp|work|old)-\d+-[0-9a-f]+$")
JOURNAL = ".pending.json"
#: file in every directory kluis publishes for `tables protect`: identifies it (and the run)
PUBLICATION_MARK = ".kluis-tables.json"


class HistoryError(BadInput):
    """A release history path that cannot be used."""


def publication_id(directory: Path) -> str | None:
    """The run that published `directory` (from its mark), or None when it is not one."""
    try:
        return read_json(Path(directory) / PUBLICATION_MARK)["publication"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "table"


class History:
    """A directory of release records, in the order they were released."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._held = 0
        self._cache: tuple[list[Path], list[Record]] | None = None

    # --- the directory ----------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a path that is not (or cannot become) a release history."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise HistoryError(f"{p}: is a file, not a release history directory")
        if p.is_dir():
            foreign = [
                x.name
                for x in p.iterdir()
                if not x.name.startswith(".")
                and not (x.is_dir() and _RELEASE.match(x.name) and (x / "meta.json").exists())
            ]
            if foreign:
                raise HistoryError(
                    f"{p}: not a kluis release history (it holds {sorted(foreign)[:3]}); "
                    "give an empty or new directory"
                )

    def releases(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(
            x
            for x in self.path.iterdir()
            if x.is_dir() and _RELEASE.match(x.name) and (x / "meta.json").exists()
        )

    def records(self) -> list[Record]:
        """The recorded releases (read once while the lock is held: nobody else adds any)."""
        paths = self.releases()
        if self._held and self._cache is not None and self._cache[0] == paths:
            return self._cache[1]
        recs = [read_record(p) for p in paths]
        if self._held:
            self._cache = (paths, recs)
        return recs

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive use of the history (re-entrant within this object)."""
        if self._held:
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
            return
        self.check()
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic.locked(self.path):
            self._held = 1
            try:
                self.recover()
                self._remove_stale()
                yield
            finally:
                self._held = 0
                self._cache = None

    def _remove_stale(self) -> None:
        """Temporaries of runs killed before they wrote a journal (nothing of theirs counts)."""
        for p in self.path.iterdir():
            m = _TEMPORARY.match(p.name)
            if m:
                atomic.remove_stale(self.path / m.group(1))

    # --- the contract -----------------------------------------------------------------------
    def audit(self, pt: Any, memo: dict | None = None) -> list[dict]:
        """Findings of protected table `pt` against every release in the history: one LP over
        the new table and every earlier release that shares persons with it. `memo` (a dict
        kept by the caller) speeds up audits of successive versions of one table that each
        hide at least what the one before hid."""
        self.check()
        old = self.records()
        if not old:
            return []
        new = record_of(pt)
        return audit_linked([new, *old], 0, memo) + slice_findings(new, old)

    def audit_record(self, directory: str | Path) -> list[dict]:
        """Findings of a written record (`write_record`) against every release in the history.

        The release calls it under the lock: a table was audited against the history as it was
        when it was made, and other releases may have been recorded since (two requests made
        before either left are never compared otherwise)."""
        self.check()
        old = self.records()
        if not old:
            return []
        new = read_record(directory)
        return audit_linked([new, *old], 0) + slice_findings(new, old)

    def add_record(self, directory: str | Path) -> Path:
        """Add a release record (written by `write_record`) as the next release; returns its
        place in the history. Serialised by the history's lock; atomic."""
        with self.lock():
            final = self._next(read_record(directory).name)
            tmp = atomic.temp_path(final)
            shutil.copytree(directory, tmp)
            atomic.fsync_tree(tmp)
            os.rename(tmp, final)
            atomic.fsync_dir(self.path)
            return final

    # --- recording and publishing as one step --------------------------------------------
    def _next(self, name: str) -> Path:
        numbers = [int(_RELEASE.match(p.name).group(1)) for p in self.releases()]
        return self.path / f"{max(numbers, default=0) + 1:05d}-{_safe_name(name)}"

    def record_and_publish(self, record_dir: Path, staged: Path, final: Path) -> Path:
        """Record the table of `record_dir` and put the finished output directory `staged` in
        place of `final`, as one step (see the module docstring). `staged` must carry the
        publication mark. Returns the record's place in the history."""
        ident = publication_id(staged)
        if ident is None:
            raise ValueError(f"{staged}: no publication mark")
        with self.lock():
            rec_final = self._next(read_record(record_dir).name)
            rec_tmp = atomic.temp_path(rec_final)
            shutil.copytree(record_dir, rec_tmp)
            atomic.fsync_tree(rec_tmp)
            journal = {
                "publication": ident,
                "record_tmp": rec_tmp.name,
                "record": rec_final.name,
                "staged": str(Path(staged).absolute()),
                "final": str(Path(final).absolute()),
            }
            atomic.write_text(self.path / JOURNAL, json.dumps(journal, indent=1))
            os.rename(rec_tmp, rec_final)  # from here on the table counts as released
            atomic.fsync_dir(self.path)
            atomic.publish_dir(staged, final)
            (self.path / JOURNAL).unlink()
            atomic.fsync_dir(self.path)
            return rec_final

    def recover(self) -> str | None:
        """Finish or undo a release a killed run left half done; says what it did."""
        jp = self.path / JOURNAL
        if not jp.exists():
            return None
        try:
            j = read_json(jp)
            staged, final = Path(j["staged"]), Path(j["final"])
            rec_final, rec_tmp = self.path / j["record"], self.path / j["record_tmp"]
            ident = j["publication"]
        except (OSError, ValueError, KeyError, TypeError):
            jp.unlink()
            return "removed an unreadable journal of an interrupted release"
        if rec_final.exists():
            if publication_id(final) == ident:
                done = f"{rec_final.name}: was recorded and published"
            elif staged.is_dir() and publication_id(staged) == ident:
                atomic.publish_dir(staged, final)
                done = f"{rec_final.name}: finished publishing {final}"
            else:
                done = f"{rec_final.name}: recorded; its outputs were lost before publication"
            if staged.is_dir() and publication_id(staged) != ident:
                shutil.rmtree(staged, ignore_errors=True)
        else:
            shutil.rmtree(rec_tmp, ignore_errors=True)
            if staged.is_dir() and publication_id(staged) == ident:
                shutil.rmtree(staged, ignore_errors=True)
            done = f"undid an interrupted release of {final} (nothing was published)"
        jp.unlink()
        atomic.fsync_dir(self.path)
        return done


def new_publication_id() -> str:
    return secrets.token_hex(8)
