"""What each kind of catalogued item looks like on disk, checked before it is destroyed.

A catalogue record is a file anyone with the steward's account can edit; `unsafe_path` keeps
retention away from the home, the key store and the top of the file system, but a well-formed
record could still name any other directory. So an item is destroyed only when it carries the
mark kluis leaves on what it writes (an extract's manifest, a request's request.json, a key's
JSON, ...). A record whose path holds something else is refused, naming it: the steward looks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: the file kluis writes into a directory of each kind
_MARK_FILE = {
    "warehouse": "warehouse.json",
    "extract": "manifest.json",
    "request": "request.json",
    "risk-report": "risk.json",
}
_HISTORY_ENTRY = re.compile(r"^(\d{5}-.+|\..+)$")


def foreign(kind: str, path: Path) -> str | None:
    """Why `path` is not a kluis item of `kind` (None when it is, or when it is gone)."""
    if not (path.exists() or path.is_symlink()):
        return None
    if path.is_symlink():
        return f"{path}: a symbolic link, not the {kind} kluis wrote"
    if kind in _MARK_FILE:
        mark = path / _MARK_FILE[kind]
        if not path.is_dir() or not mark.is_file():
            return f"{path}: not a kluis {kind} (no {_MARK_FILE[kind]})"
        return None
    if kind == "key":
        return None if _is_key(path) else f"{path}: not a kluis pseudonymisation key"
    if kind == "history":
        if not path.is_dir():
            return f"{path}: not a release history (not a directory)"
        strange = [p.name for p in path.iterdir() if not _HISTORY_ENTRY.match(p.name)]
        return f"{path}: not a release history (holds {strange[0]!r})" if strange else None
    return None  # releases are kept; other kinds carry no mark of their own


def _is_key(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size > 4096:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("key"), str)
