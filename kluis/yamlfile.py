"""Read a hand-written YAML file safely, keeping the line of every field.

Deliberations and table specs are edited by hand and read by a program that enforces them, so
one reader serves both and refuses, with the file and line, everything that is not a plain
document of reasonable size:

- more than `Limits.max_bytes` (1 MiB; the largest deliberation is 27 kB): refused before it is
  read, so a 50 MB file costs nothing;
- bytes that are not UTF-8 (the line and column of the first bad byte), NUL bytes (a binary
  file), characters YAML does not allow;
- nesting deeper than `max_depth` (64), checked while composing, so 100,000 nested brackets
  stop at bracket 65 instead of exhausting the stack;
- aliases that expand to more than `max_nodes` (100,000) values: anchors and aliases are
  legitimate (26/104 reuses its T+1 list), an alias bomb is not; the expanded size is counted
  over the node graph without expanding it, and an alias inside its own anchor is refused;
- a scalar longer than `max_scalar` (64 kB);
- a key written twice in one mapping (YAML takes the last silently), a key that is not plain
  text.

Dates stay text (the models parse them, so a bad date is reported at its field). The result
carries `lines`: the line of every key and list item by field path, e.g.
('tables', 0, 'next_year', 2) -> 597, so a model's error can be reported at its line.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kluis.errors import BadInput

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """What a hand-written file may hold; far above any real deliberation or spec."""

    max_bytes: int = 1 << 20
    max_depth: int = 64
    max_nodes: int = 100_000
    max_scalar: int = 1 << 16
    aliases: bool = True  # False for files that have no use for them (users.yaml)


LIMITS = Limits()


class YamlFileError(BadInput):
    """A YAML file that cannot be read; says where (file, line) and what."""

    def __init__(self, source: str, line: int | None, message: str, field: str = "(file)"):
        self.source = source
        self.line = line
        self.field = field
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        shown = "" if field == "(file)" else f"{field}: "
        super().__init__(f"{where}: {shown}{message}")


def format_path(path: FieldPath) -> str:
    """('tables', 0, 'next_year', 2) -> 'tables[0].next_year[2]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def locate(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    """Line of `path`, or of its deepest ancestor present in the file."""
    for end in range(len(path), -1, -1):
        line = lines.get(tuple(path[:end]))
        if line is not None:
            return line
    return None


@dataclass(frozen=True)
class YamlDocument:
    """The data of a file and the line of each of its fields."""

    source: str
    data: Any
    lines: dict[FieldPath, int]

    def line(self, path: FieldPath) -> int | None:
        return locate(self.lines, path)


# libyaml's parser when present (20x faster than PyYAML's own); both are iterative, so the
# pre-scan below bounds depth before anything recursive (composing) runs
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """A safe loader that keeps dates as text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: str | Path, *, limits: Limits = LIMITS, what: str = "file") -> YamlDocument:
    """Read, check and parse the YAML file at `path`; its top level must be a mapping.

    `what` names the kind of file in messages ("a deliberation file must be ...")."""
    return parse_yaml(read_bytes(path, limits=limits), str(path), limits=limits, what=what)


def read_bytes(path: str | Path, *, limits: Limits = LIMITS) -> bytes:
    """The bytes of a regular file of at most `limits.max_bytes` (refused before reading when
    it is larger: a 50 MB file costs nothing)."""
    path = Path(path)
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise YamlFileError(source, None, f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise YamlFileError(source, None, "cannot read: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise YamlFileError(source, None, "cannot read: not a regular file")
        if info.st_size > limits.max_bytes:
            raise _too_large(source, info.st_size, limits)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limits.max_bytes + 1)  # the file may grow while it is read
    except OSError as exc:
        raise YamlFileError(source, None, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limits.max_bytes:
        raise _too_large(source, len(data), limits)
    return data


def _too_large(source: str, size: int, limits: Limits) -> YamlFileError:
    return YamlFileError(
        source,
        None,
        f"{size:,} bytes: kluis reads at most {limits.max_bytes:,} bytes from such a file",
    )


def _too_deep(limits: Limits) -> str:
    return f"nested more than {limits.max_depth} levels deep"


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def decode(data: bytes, source: str, limits: Limits = LIMITS) -> str:
    """The text of `data`: UTF-8 (a leading byte-order mark allowed), no NUL bytes."""
    if len(data) > limits.max_bytes:
        raise _too_large(source, len(data), limits)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise YamlFileError(
            source, line, f"a NUL byte at column {col}: this is a binary file, not text"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise YamlFileError(
            source,
            line,
            f"byte 0x{data[exc.start]:02x} at column {col} is not UTF-8; save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def parse_yaml(
    data: str | bytes, source: str, *, limits: Limits = LIMITS, what: str = "file"
) -> YamlDocument:
    """Parse YAML text (or bytes, checked by `decode`) under `limits`; see the module doc."""
    text = decode(data, source, limits) if isinstance(data, bytes) else data
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _too_large(source, len(text.encode("utf-8", "surrogatepass")), limits)
    loader = None
    try:
        _prescan(text, source, limits)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None or not isinstance(node, yaml.MappingNode):
            line = node.start_mark.line + 1 if node is not None else 1
            raise YamlFileError(source, line, f"{what} must be a YAML mapping of fields")
        _check_size(node, source, limits)
        lines: dict[FieldPath, int] = {}
        _line_map(node, (), lines, source)
        value = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or str(exc)
        if "nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
            raise YamlFileError(source, line, _too_deep(limits)) from None
        raise YamlFileError(source, line, f"not valid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlFileError(
            source,
            line,
            f"not valid YAML: character #x{exc.character:04x} is not allowed in YAML text",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(source, None, f"not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(source, value, lines)


_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _prescan(text: str, source: str, limits: Limits) -> None:
    """Depth, node count and scalar length from the parser's events, before composing: a file
    past a limit is refused after reading only as far as the limit."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > limits.max_depth:
                raise YamlFileError(source, event.start_mark.line + 1, _too_deep(limits))
        elif isinstance(event, _CLOSE):
            depth -= 1
            continue
        elif isinstance(event, yaml.ScalarEvent):
            if len(event.value) > limits.max_scalar:
                raise YamlFileError(
                    source,
                    event.start_mark.line + 1,
                    f"a value of {len(event.value):,} characters: kluis reads values of at "
                    f"most {limits.max_scalar:,}",
                )
        elif isinstance(event, yaml.AliasEvent) and not limits.aliases:
            raise YamlFileError(
                source, event.start_mark.line + 1, "aliases are not allowed in this file"
            )
        else:
            continue
        nodes += 1
        if nodes > limits.max_nodes:
            raise YamlFileError(
                source,
                event.start_mark.line + 1,
                f"more than {limits.max_nodes:,} values: kluis refuses such files",
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_size(root: yaml.Node, source: str, limits: Limits) -> None:
    """Refuse alias bombs and self-referring aliases without expanding anything:
    the expanded size of each distinct node is computed once (iteratively: no recursion)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > limits.max_nodes:
                raise YamlFileError(
                    source,
                    node.start_mark.line + 1,
                    f"holds more than {limits.max_nodes:,} values (counting each use of an alias): "
                    "kluis refuses such files",
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlFileError(
                source, node.start_mark.line + 1, "an alias refers to the node that contains it"
            )
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _line_map(node: yaml.Node, path: FieldPath, out: dict[FieldPath, int], source: str) -> None:
    """Record the line of every key and item; refuse duplicate and non-text keys. The walk
    follows aliases, which `_check_size` has bounded."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlFileError(source, line, "a key must be plain text", format_path(path))
            key = key_node.value
            if key in seen:
                raise YamlFileError(
                    source,
                    line,
                    f"duplicate key {key!r} (first on line {seen[key]})",
                    format_path((*path, key)),
                )
            seen[key] = line
            out[(*path, key)] = line
            _line_map(value_node, (*path, key), out, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _line_map(item, (*path, i), out, source)
