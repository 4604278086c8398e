"""The catalogue of everything kluis writes: what, where, for which deliberation, until when.

One JSON record per item under `$KLUIS_HOME/catalogue/` (`<kind>-<sha of path>.json`), written
atomically when the item is published. The retention command reads it to find every extract,
key, output request and bundle of a deliberation; `kluis retention status` lists it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kluis.atomic import write_text
from kluis.home import catalogue_dir, private_dir

KINDS = ("warehouse", "key", "extract", "request", "release", "history", "risk-report")


@dataclass(frozen=True)
class Entry:
    kind: str
    path: str
    deliberation: str | None
    retention: str | None  # ISO date: the last day the item may exist
    created: str
    details: dict

    @property
    def file(self) -> Path:
        return catalogue_dir() / _file_name(self.kind, Path(self.path))


def _file_name(kind: str, path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return f"{kind}-{digest}.json"


def register(
    kind: str,
    path: Path | str,
    *,
    deliberation: str | None = None,
    retention: dt.date | str | None = None,
    **details: object,
) -> Entry:
    """Record (or update) the item at `path` in the catalogue."""
    if kind not in KINDS:
        raise ValueError(f"unknown catalogue kind {kind!r}")
    entry = Entry(
        kind=kind,
        path=str(Path(path).absolute()),
        deliberation=deliberation,
        retention=retention.isoformat() if isinstance(retention, dt.date) else retention,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        details=dict(details),
    )
    text = json.dumps(asdict(entry), indent=1, sort_keys=True, default=str) + "\n"
    private_dir(catalogue_dir())
    write_text(entry.file, text, mode=0o600)
    return entry


def remove(entry: Entry) -> None:
    """Forget an item (it was destroyed; the destruction certificate keeps what it was)."""
    entry.file.unlink(missing_ok=True)


def forget(kind: str, path: Path | str) -> None:
    """Forget the item of `kind` at `path` (e.g. a key destroyed by hand)."""
    (catalogue_dir() / _file_name(kind, Path(path).absolute())).unlink(missing_ok=True)


def entries() -> list[Entry]:
    """Every catalogued item (a record that cannot be read is skipped; `problems` names it)."""
    root = catalogue_dir()
    out = []
    for f in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            out.append(Entry(**json.loads(f.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return out


def problems() -> list[str]:
    """Catalogue records that cannot be read (retention status shows them)."""
    root = catalogue_dir()
    out = []
    for f in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            Entry(**json.loads(f.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            out.append(f"{f}: {exc}")
    return out
