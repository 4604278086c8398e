"""Read a deliberation YAML file and check its shape, keeping the line of every field.

Every error — unreadable or hostile file, YAML syntax, pydantic shape — is reported as
'FILE:LINE: field.path: message', so a steward can go straight to the offending line. Reading
(size, encoding, alias and nesting limits, duplicate keys, the line map) is the shared
`kluis.yamlfile`; the semantic checks are in validate.py, which builds on `Parsed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kluis.deliberation.errors import DeliberationError, FieldPath, Problem, format_path
from kluis.deliberation.model import Deliberation
from kluis.yamlfile import YamlFileError, locate, read_yaml

# discriminator field of each tagged union in model.py: pydantic puts the tag into error paths
_DISCRIMINATORS = ("unit", "method")


@dataclass(frozen=True)
class Parsed:
    """A parsed deliberation with where each of its fields stands in the file."""

    path: Path
    data: Any
    lines: dict[FieldPath, int]
    deliberation: Deliberation

    def line(self, path: FieldPath) -> int | None:
        return locate(self.lines, path)

    def problem(self, path: FieldPath, message: str) -> Problem:
        return Problem(str(self.path), self.line(path), format_path(path), message)


def _strip_tags(loc: tuple[Any, ...], data: Any) -> FieldPath:
    """Drop the union tags pydantic inserts into error locations (e.g. 'person-year')."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part not in cur:
            tag_values = {cur.get(d) for d in _DISCRIMINATORS}
            if part in tag_values:
                continue
        out.append(part)
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            cur = None
    return tuple(out)


def parse(path: str | Path) -> Parsed:
    """Read and shape-check a deliberation file (no semantic checks: see validate.py)."""
    path = Path(path)
    try:
        doc = read_yaml(path, what="a deliberation file")
    except YamlFileError as e:
        raise DeliberationError([Problem(e.source, e.line, e.field, e.message)]) from None
    data, lines = doc.data, doc.lines
    try:
        deliberation = Deliberation.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            field = _strip_tags(tuple(err["loc"]), data)
            msg = err["msg"]
            if err["type"] == "union_tag_invalid":
                key = err["ctx"]["discriminator"].strip("'")
                field = (*field, key)
                msg = f"unknown {key} {err['ctx']['tag']!r}; expected {err['ctx']['expected_tags']}"
            elif err["type"] == "union_tag_not_found":
                key = err["ctx"]["discriminator"].strip("'")
                field = (*field, key)
                msg = "required field is missing"
            elif err["type"] == "extra_forbidden":
                msg = f"unknown field {field[-1]!r}" if field else msg
            elif err["type"] == "missing":
                msg = "required field is missing"
            problems.append(Problem(str(path), locate(lines, field), format_path(field), msg))
        raise DeliberationError(problems) from None
    return Parsed(path, data, lines, deliberation)
