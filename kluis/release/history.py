"""The one place the release adds what it released to the deliberation's release history.

Contract (docs/disclosure.md, "The release history"): the enclave writes, per table output, a
self-contained history record under `REQUEST/internal/history/<output name>/`
(`kluis.disclosure.history.write_record`); what is released is recorded by the release, in the
same step as the bundle, with `History($KLUIS_HOME/history/<slug>).add_record(record_dir)`.
Later runs of any project under the same deliberation are audited against it.

Recording and publishing are one step (`recording`): the history's lock is held from the first
record to the bundle's publication, the records go in first (from then on the tables count as
released), the bundle second. The release's journal names each record, with the digest of its
files, *before* it is added, so a run killed between adding a record and noting it finds it in
the history (by that digest, among the entries that were not there before) instead of adding
it twice. A run killed after the records and before the bundle leaves them recorded (the safe
side: the history knows more than left) and the next `kluis release` publishes the bundle.

Only full-population releases enter the history: a development run's tables come from the
sample the researchers already hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from kluis.disclosure.history import History
from kluis.disclosure.record import read_record
from kluis.enclave.request import resolve
from kluis.errors import KluisError, Refused
from kluis.review.store import ReviewRequest, sha256_file

#: output kinds the enclave makes with the disclosure engine: each has a history record
TABLE_KINDS = ("table", "histogram", "sql")


class HistoryError(Refused):
    """A released table could not be recorded in the release history."""


def history_dir(deliberation: str) -> Path:
    from kluis.home import home

    return home() / "history" / deliberation.replace("/", "-")


def records_to_add(rr: ReviewRequest, outputs: list[str]) -> list[tuple[str, Path]]:
    """(output, record directory) of every released table output of a full run; a table
    output without its record is refused (it would leave unrecorded)."""
    if rr.request.phase != "full":
        return []
    found = []
    for name in outputs:
        output = rr.request.output(name)
        rel = output.files.get("history")
        if rel is None:
            if output.kind in TABLE_KINDS:
                raise HistoryError(
                    f"{name}: a table without its release-history record "
                    "(internal/history/<name>/): it cannot be released unrecorded"
                )
            continue
        found += _records_under(name, resolve(rr.path, rel))
    return found


def _records_under(name: str, directory: Path) -> list[tuple[str, Path]]:
    """The release records an output's `history` directory holds: itself (a table's record)
    or, for describe(), one per mean shown (`<name>/<nnn>`); the key names each in the journal."""
    if (directory / "meta.json").is_file() or not directory.is_dir():
        return [(name, directory)]
    return [(f"{name}/{sub.name}", sub) for sub in sorted(directory.iterdir()) if sub.is_dir()]


def check_records(rr: ReviewRequest, outputs: list[str]) -> None:
    """Every record the release will add can be read (before anything is added)."""
    for name, record in records_to_add(rr, outputs):
        try:
            read_record(record)
        except KluisError as exc:
            raise HistoryError(f"{name}: {exc}") from None


def tree_digest(directory: Path) -> str:
    """sha256 over the relative names and contents of every file under `directory`."""
    h = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(directory).as_posix().encode() + b"\0")
            h.update(bytes.fromhex(sha256_file(p)))
    return h.hexdigest()


class Progress(Protocol):
    """The release's journal: what it is about to add and what it has added."""

    state: dict

    def adding(self, output: str, digest: str, before: list[str]) -> None: ...

    def added(self, output: str, entry: Path) -> None: ...


@contextmanager
def recording(rr: ReviewRequest) -> Iterator[History | None]:
    """The deliberation's history, locked until the bundle is published (None for a
    development run: nothing of it is recorded)."""
    if rr.request.phase != "full":
        yield None
        return
    history = History(history_dir(rr.request.deliberation))
    try:
        history.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{history.path}: cannot make the release history: {exc}") from None
    with history.lock():
        yield history


class RevealedByHistory(Refused):
    """Released now, a table would reveal persons together with what left since it was made."""


def check_against_history(history: History, records: list[tuple[str, Path]]) -> None:
    """Audit every table about to be released against the history as it is now (under its
    lock), before any is added: a release recorded after the run was made may, together with
    this one, reveal what each hides (differencing, recodes, linked tables). The run audited
    its tables against each other, so each is audited against the history alone."""
    problems = []
    for name, record in records:
        errors = [f for f in history.audit_record(record) if f.get("severity") == "error"]
        if errors:
            first = errors[0]
            problems.append(
                f"{name}: with release {first.get('release')} ({len(errors)} finding(s); "
                f"first: {first.get('kind')} {first.get('cell')}: {first.get('detail')})"
            )
    if problems:
        raise RevealedByHistory(
            "not released: together with tables released since the run, these would reveal "
            "persons they hide; run the project again (it protects against the new history): "
            + "; ".join(problems)
        )


def _added_before(history: History, pending: dict | None, digest: str) -> Path | None:
    """The entry an interrupted run added for this record (not there before it, same files)."""
    if not pending or pending.get("digest") != digest:
        return None
    before = set(pending.get("before", []))
    for entry in history.releases():
        if entry.name not in before and tree_digest(entry) == digest:
            return entry
    return None


def add_to_history(
    rr: ReviewRequest, outputs: list[str], progress: Progress, history: History | None
) -> list[Path]:
    """Add the records of the released `outputs` to `history` (held by `recording`), each once
    whatever earlier runs of this release were killed; returns the history entries."""
    if history is None:
        return []
    records = records_to_add(rr, outputs)
    if not records:
        return []
    from kluis.audit.catalogue import register

    done = progress.state.setdefault("history", {})
    pending = progress.state.setdefault("pending", {})
    # what a killed run of this release already added (or began to add) was audited then
    check_against_history(history, [(n, r) for n, r in records if n not in {*done, *pending}])
    for name, record in records:
        if name in done and Path(done[name]).is_dir():
            continue
        digest = tree_digest(record)
        entry = _added_before(history, pending.get(name), digest)
        if entry is None:
            progress.adding(name, digest, [p.name for p in history.releases()])
            try:
                entry = Path(history.add_record(record))
            except OSError as exc:
                raise HistoryError(f"{record}: cannot add {name} to the history: {exc}") from None
        progress.added(name, entry)
    register(  # the history keeps pseudonymised members: destroyed with the deliberation
        "history",
        history.path,
        deliberation=rr.request.deliberation,
        retention=_retention(rr.request.deliberation),
        last_request=rr.id,
    )
    return [Path(done[name]) for name, _ in records]


def _retention(number: str) -> str | None:
    from kluis.deliberation import find, load
    from kluis.errors import BadInput

    try:
        path = find(number)
    except (FileNotFoundError, BadInput):  # not in the registry
        return None
    return load(path).retention.isoformat()
