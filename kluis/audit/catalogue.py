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


def unsafe_path(path: object) -> str | None:
    """Why `path` may never be destroyed by retention, or None. A catalogue record or a journal
    is a file anyone with the steward's account can edit: one naming the home directory made
    `retention enforce` destroy it. Only an absolute path without '..', below the top level,
    holding neither kluis's own state nor a home directory is ever a target."""
    from kluis.home import audit_log_path, home, keystore_dir, users_path

    if not isinstance(path, str) or not path:
        return "the path is not text"
    p = Path(path)
    if not p.is_absolute():
        return f"{path!r} is not an absolute path"
    if ".." in p.parts:
        return f"{path!r} holds '..'"
    if len(p.parts) <= 2:
        return f"{path!r}: kluis never destroys the root or a top-level directory"
    guarded = {
        "kluis's home": home(),
        "the key store": keystore_dir(),
        "the audit log": audit_log_path().parent,
        "the users file": users_path().parent,
        "a home directory": Path.home(),
    }
    for what, place in guarded.items():
        place = Path(place).absolute()
        if place == p or p in place.parents:
            return f"{path!r}: kluis never destroys {what} or a directory holding it"
    return None


def _entry(data: object) -> Entry:
    """An Entry from a record's JSON, every field checked (ValueError says which)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    names = set(Entry.__dataclass_fields__)
    missing, extra = sorted(names - set(data)), sorted(set(data) - names)
    if missing or extra:
        raise ValueError(f"fields missing: {missing}, unknown: {extra}")
    if data["kind"] not in KINDS:
        raise ValueError(f"kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    why = unsafe_path(data["path"])
    if why is not None:
        raise ValueError(f"path: {why}")
    for name in ("deliberation", "retention"):
        if data[name] is not None and not isinstance(data[name], str):
            raise ValueError(f"{name} is not text")
    if data["retention"] is not None:
        try:
            dt.date.fromisoformat(data["retention"])
        except ValueError:
            raise ValueError(f"retention {data['retention']!r} is not a date") from None
    if not isinstance(data["created"], str) or not isinstance(data["details"], dict):
        raise ValueError("created is not text or details not an object")
    return Entry(**data)


def _read(f: Path) -> Entry:
    from kluis.jsonfile import read_json

    try:
        return _entry(read_json(f, max_bytes=1 << 20))
    except ValueError as exc:  # JsonFileError is one, and names the file already
        text = str(exc)
        raise ValueError(text if text.startswith(str(f)) else f"{f}: {text}") from None


def entries() -> list[Entry]:
    """Every catalogued item (a record that cannot be read is skipped; `problems` names it)."""
    root = catalogue_dir()
    out = []
    for f in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            out.append(_read(f))
        except ValueError:
            continue
    return out


def problems() -> list[str]:
    """Catalogue records that cannot be read, each 'FILE: what' (retention status shows them;
    retention enforce refuses to run while there is one)."""
    root = catalogue_dir()
    out = []
    for f in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            _read(f)
        except ValueError as exc:
            out.append(str(exc))
    return out
