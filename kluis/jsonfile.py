"""Read a JSON file (or line) kluis wrote, refusing with its file and line what kluis never
writes.

The JSON files kluis reads back (request.json, decisions.jsonl, catalogue records, journals,
release.json) live where others can reach them: a request directory is the researcher's, a
journal can be damaged by a crash or by hand. Python's `json` takes all of them, and some
answer with an exception no caller expects: 100,000 nested brackets raise RecursionError, a key
written twice is taken silently (a reader that takes the first would see another document),
NaN is accepted. This reader is the one place that turns each into a `JsonFileError` (exit 2)
naming the file and line:

- more than `max_bytes` (refused before reading, via `kluis.yamlfile.read_bytes`);
- bytes that are not UTF-8 (line and column of the first bad byte), a NUL byte;
- not JSON (line and column), nested too deeply, a key twice in one object, NaN/Infinity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kluis.errors import BadInput

#: request.json with every finding of a full run stays far below this
MAX_BYTES = 16 << 20


class JsonFileError(BadInput, ValueError):
    """A JSON file that cannot be used; says where (file, line) and what. Also a ValueError,
    so a caller that caught `json.loads`'s errors catches these unchanged."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line is not None else source


def loads(data: str | bytes, source: str, *, line: int | None = None) -> Any:
    """Parse one JSON document; `line` is the line of `data` in its file (JSON lines).
    JsonFileError naming `source` and the line otherwise."""
    if isinstance(data, bytes):
        if b"\x00" in data:
            raise JsonFileError(f"{_where(source, line)}: a NUL byte: a binary file, not JSON")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = (line or 1) + data.count(b"\n", 0, exc.start)
            raise JsonFileError(
                f"{_where(source, at)}: byte 0x{data[exc.start]:02x} is not UTF-8"
            ) from None
    else:
        text = data
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        at = (line or 1) + exc.lineno - 1
        raise JsonFileError(
            f"{_where(source, at)}: not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except RecursionError:
        raise JsonFileError(f"{_where(source, line)}: not valid JSON: nested too deeply") from None
    except ValueError as exc:  # from the hooks above
        raise JsonFileError(f"{_where(source, line)}: {exc}") from None


def read_json(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Any:
    """The JSON document in the regular file at `path` (at most `max_bytes`)."""
    from kluis.yamlfile import Limits, YamlFileError, read_bytes

    try:
        data = read_bytes(path, limits=Limits(max_bytes=max_bytes))
    except YamlFileError as exc:  # missing, a directory, too large: one kind of error here
        raise JsonFileError(str(exc)) from None
    return loads(data, str(path))


def read_object(path: str | Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> dict:
    """`read_json` whose document must be an object (`what` names the kind of file)."""
    data = read_json(path, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise JsonFileError(f"{path}:1: {what} must be a JSON object")
    return data
