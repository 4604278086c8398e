"""What is kept until when: every catalogued item with its deliberation's retention date.

The date comes from the deliberation registry (`$KLUIS_HOME/deliberations`, or --deliberations;
refused when it cannot be read), so a later deliberation that extends it, or one that ends it,
is taken into account; for a deliberation missing from the registry, from the date recorded when
the item was written.
Keys in the key store are listed even when nothing catalogued them: crypto-shredding must not
depend on the catalogue being complete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from kluis.atomic import stale_temporaries
from kluis.audit.catalogue import Entry, entries

#: kinds retention destroys with their deliberation; releases (anonymous) and warehouses stay
DESTROYED = ("extract", "request", "key", "history", "risk-report")
KEPT = ("release", "warehouse")


@dataclass(frozen=True)
class Known:
    """A deliberation as retention needs it (the registry may not hold it)."""

    number: str
    retention: dt.date


@dataclass(frozen=True)
class Item:
    kind: str
    path: Path
    deliberation: str | None
    retention: dt.date | None
    extended_by: str | None
    due: str | None  # why it must be destroyed now, or None
    exists: bool
    leftovers: tuple[Path, ...] = ()
    entry: Entry | None = None

    @property
    def destroyed_at_retention(self) -> bool:
        return self.kind in DESTROYED and self.deliberation is not None

    def days_left(self, today: dt.date) -> int | None:
        return None if self.retention is None else (self.retention - today).days

    def as_json(self, today: dt.date) -> dict:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "deliberation": self.deliberation,
            "retention": None if self.retention is None else self.retention.isoformat(),
            "extended_by": self.extended_by,
            "days_left": self.days_left(today),
            "exists": self.exists,
            "leftovers": [str(p) for p in self.leftovers],
            "at_retention": "destroy" if self.destroyed_at_retention else "keep",
            "due": self.due,
        }


@dataclass
class Plan:
    today: dt.date
    items: list[Item] = field(default_factory=list)
    due: dict[str, str] = field(default_factory=dict)  # deliberation -> reason

    @property
    def to_destroy(self) -> list[Item]:
        return [i for i in self.items if i.destroyed_at_retention and i.due]


def _registry(directory: Path | None) -> dict:
    """The registry of deliberations; refuses when it cannot be read (an extension or an
    ending unknown could destroy too early or keep too long)."""
    from kluis.deliberation.registry import load_registry

    return load_registry(directory)


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _slug_number(slug: str) -> str:
    return slug.replace("-", "/")


def _keystore_keys(catalogued: set[Path]) -> list[tuple[Path, str]]:
    """Key files in the default key store that nothing catalogued: (path, deliberation)."""
    from kluis.home import keystore_dir

    root = keystore_dir()
    out = []
    for f in sorted(root.glob("*.key")) if root.is_dir() else []:
        if f.name == "signing.key" or f.absolute() in catalogued:
            continue
        out.append((f.absolute(), _slug_number(f.stem)))
    return out


def plan(today: dt.date, deliberations: Path | None = None) -> Plan:
    """Every item on this store, its retention date and whether it is due on `today`. A
    deliberation is due as a whole: its key goes with its extracts even if the key's own record
    knows no date."""
    from kluis.deliberation.dates import destruction_due, retention_date

    registry = _registry(deliberations)
    result = Plan(today=today)
    listed = entries()
    rows: list[tuple[str, Path, str | None, dt.date | None, Entry | None]] = [
        (e.kind, Path(e.path), e.deliberation, _date(e.retention), e) for e in listed
    ]
    catalogued = {Path(e.path) for e in listed if e.kind == "key"}
    rows += [("key", p, number, None, None) for p, number in _keystore_keys(catalogued)]
    recorded: dict[str, dt.date] = {}
    for _kind, _path, number, date, _entry in rows:
        if number is not None and date is not None:
            recorded[number] = min(date, recorded.get(number, date))
    dates: dict[str, tuple[dt.date | None, str | None, str | None]] = {}
    for number in {r[2] for r in rows if r[2] is not None}:
        d = registry.get(number)
        known = d if d is not None else Known(number, recorded.get(number, dt.date.max))
        retention, by = retention_date(known, registry)  # type: ignore[arg-type]
        due = destruction_due(known, today, registry)  # type: ignore[arg-type]
        shown = None if retention == dt.date.max else retention
        dates[number] = (shown, None if by is None else by.number, due)
        if due is not None:
            result.due[number] = due
    for kind, path, number, _recorded, entry in rows:
        none: tuple[dt.date | None, str | None, str | None] = (None, None, None)
        retention, extended_by, due = dates.get(number, none) if number else none
        result.items.append(
            Item(
                kind=kind,
                path=path,
                deliberation=number,
                retention=retention,
                extended_by=extended_by,
                due=due,
                exists=path.exists() or path.is_symlink(),
                leftovers=tuple(stale_temporaries(path)),
                entry=entry,
            )
        )
    result.items.sort(key=lambda i: (i.deliberation or "~", i.kind, str(i.path)))
    return result
