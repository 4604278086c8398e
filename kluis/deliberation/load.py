"""Read a deliberation YAML file, keeping the line of every key and list item.

Every error — YAML syntax, pydantic shape, semantic (validate.py) — is reported as
'FILE:LINE: field.path: message', so a steward can go straight to the offending line. The line map
is built from PyYAML's node tree (the same text, composed once), keyed by the field path that
pydantic and the validator use: ('tables', 0, 'next_year', 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kluis.deliberation.errors import DeliberationError, FieldPath, Problem, format_path
from kluis.deliberation.model import Deliberation


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text: pydantic parses them, so a bad date is reported at
    its line and field like any other value instead of aborting the read."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

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


def locate(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    """Line of `path`, or of its deepest ancestor present in the file."""
    for end in range(len(path), -1, -1):
        line = lines.get(tuple(path[:end]))
        if line is not None:
            return line
    return None


def _line_map(node: yaml.Node, path: FieldPath, out: dict[FieldPath, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DeliberationError(
                    [
                        Problem(
                            file,
                            line,
                            format_path((*path, key)),
                            f"duplicate key {key!r} (first on line {seen[key]})",
                        )
                    ]
                )
            seen[key] = line
            out[(*path, key)] = line
            _line_map(value_node, (*path, key), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _line_map(item, (*path, i), out, file)


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


def _read_yaml(path: Path) -> tuple[Any, dict[FieldPath, int]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DeliberationError(
            [Problem(file, None, "(file)", f"cannot read: {e.strerror}")]
        ) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(e, "problem", None) or str(e)
        raise DeliberationError([Problem(file, line, "(file)", f"invalid YAML: {what}")]) from None
    if not isinstance(data, dict) or node is None:
        raise DeliberationError(
            [Problem(file, 1, "(file)", "a deliberation file must be a YAML mapping of fields")]
        )
    lines: dict[FieldPath, int] = {}
    _line_map(node, (), lines, file)
    return data, lines


def parse(path: str | Path) -> Parsed:
    """Read and shape-check a deliberation file (no semantic checks: see validate.py)."""
    path = Path(path)
    data, lines = _read_yaml(path)
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


def problems(path: str | Path) -> list[Problem]:
    """Every problem in a deliberation file (empty when it is valid); never raises for bad files."""
    from kluis.deliberation.validate import validate_parsed

    try:
        parsed = parse(path)
    except DeliberationError as e:
        return list(e.problems)
    return validate_parsed(parsed)


def load(path: str | Path) -> Deliberation:
    """A deliberation that passed every check, or DeliberationError listing all problems.

    This is the only way the extractors obtain a deliberation: nothing unchecked is enforced."""
    from kluis.deliberation.validate import validate_parsed

    parsed = parse(path)
    found = validate_parsed(parsed)
    if found:
        raise DeliberationError(found)
    return parsed.deliberation


def default_dir() -> Path:
    """The repository's `deliberations/` directory."""
    return Path(__file__).resolve().parents[2] / "deliberations"


def load_dir(directory: str | Path | None = None) -> dict[str, Deliberation]:
    """Every deliberation file (*.yaml) of a directory, by number."""
    directory = Path(directory) if directory is not None else default_dir()
    out: dict[str, Deliberation] = {}
    for file in sorted(directory.glob("*.yaml")):
        d = load(file)
        if d.number in out:
            raise DeliberationError(
                [Problem(str(file), None, "number", f"deliberation {d.number} is defined twice")]
            )
        out[d.number] = d
    return out


def find(number: str, directory: str | Path | None = None) -> Path:
    """The file of deliberation `number` (e.g. '26/104' -> deliberations/26-104.yaml)."""
    directory = Path(directory) if directory is not None else default_dir()
    path = directory / f"{number.replace('/', '-')}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no deliberation file {path} for deliberation {number}")
    return path
