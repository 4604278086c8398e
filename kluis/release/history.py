"""The one place the release adds what it released to the deliberation's release history.

Contract (TEAM.md): the enclave writes, per table output, a self-contained history record under
`REQUEST/internal/history/<output name>/` (`kluis.disclosure.history.write_record`); what is
released is recorded by the release, in the same step as the bundle, with
`History($KLUIS_HOME/history/<slug>).add_record(record_dir)`. Later runs of any project under
the same deliberation are audited against it (linked LP audit, differencing).

Only full-population releases enter the history: a development run's tables come from the
sample the researchers already hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from kluis.enclave.request import resolve
from kluis.errors import Refused
from kluis.review.store import ReviewRequest


class HistoryError(Refused):
    """A released table could not be recorded in the release history."""


def history_dir(deliberation: str) -> Path:
    from kluis.home import home

    return home() / "history" / deliberation.replace("/", "-")


def records_to_add(rr: ReviewRequest, outputs: list[str]) -> list[tuple[str, Path]]:
    """(output, record directory) of every released output that has a history record."""
    if rr.request.phase != "full":
        return []
    found = []
    for name in outputs:
        record = resolve(rr.path, f"internal/history/{name}")
        if record.is_dir():
            found.append((name, record))
    return found


class Progress(Protocol):
    """Where the release keeps what it has added (its journal), so a rerun adds nothing twice."""

    state: dict

    def added(self, output: str, entry: Path) -> None: ...


def add_to_history(rr: ReviewRequest, outputs: list[str], progress: Progress) -> list[Path]:
    """Add the records of the released `outputs` to the deliberation's history (skipping those
    an interrupted earlier run added); returns the history entries."""
    done = progress.state.get("history", {})
    records = [
        (name, record)
        for name, record in records_to_add(rr, outputs)
        if not (name in done and Path(done[name]).exists())
    ]
    if not records:
        return []
    from kluis.audit.catalogue import register
    from kluis.disclosure.history import History

    target = history_dir(rr.request.deliberation)
    history = History(target)
    if not hasattr(history, "add_record"):
        raise HistoryError(
            "this kluis cannot add released tables to the release history "
            "(kluis.disclosure.history.History.add_record is missing): nothing was released"
        )
    written = []
    for name, record in records:
        try:
            entry = Path(history.add_record(record))
        except (OSError, ValueError) as exc:
            raise HistoryError(f"{record}: cannot add {name} to the history: {exc}") from None
        progress.added(name, entry)
        written.append(entry)
    register(  # the history keeps pseudonymised members: destroyed with the deliberation
        "history",
        target,
        deliberation=rr.request.deliberation,
        retention=_retention(rr.request.deliberation),
        last_request=rr.id,
    )
    return written


def _retention(number: str) -> str | None:
    from kluis.deliberation import find, load
    from kluis.errors import BadInput

    try:
        path = find(number)
    except (FileNotFoundError, BadInput):  # not in the registry
        return None
    return load(path).retention.isoformat()
