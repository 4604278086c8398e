"""A SPEC.yaml file as `tables protect` reads it: checked as a file before it is parsed.

`spec.parse_spec` validates the spec's content (and is where the shared YAML helper will plug
in); this module answers for the file around it, so that no spec file can make the command
crash or hang: a size limit, UTF-8 (the line of the first bad byte), nesting depth, aliases that
would expand into a huge document, and duplicate keys (a second `min_frequency` must not
silently replace the first). It also keeps the YAML node tree, so a rule can be located by line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from kluis.disclosure.spec import SpecError, TableSpec, _line_of, parse_spec

#: a spec is a page of YAML; anything larger is not one
MAX_SPEC_BYTES = 1_000_000
#: nodes after expanding aliases: a spec has a few hundred
MAX_NODES = 100_000


def _check_nodes(node: yaml.Node, source: str) -> None:
    """Duplicate keys and alias expansion, walked without recursion (deep nesting is allowed
    up to what the parser accepted)."""
    expanded: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        n, done = stack.pop()
        if not done and id(n) in entered:
            continue  # an alias of a node already walked (or a recursive one)
        entered.add(id(n))
        children = []
        if isinstance(n, yaml.MappingNode):
            children = [x for kv in n.value for x in kv]
        elif isinstance(n, yaml.SequenceNode):
            children = list(n.value)
        if not done:
            if isinstance(n, yaml.MappingNode):
                seen: dict[str, int] = {}
                for k, _ in n.value:
                    line = k.start_mark.line + 1
                    if isinstance(k, yaml.ScalarNode) and k.value in seen:
                        raise SpecError(
                            f"{source}:{line}: duplicate key {k.value!r} "
                            f"(first on line {seen[k.value]})"
                        )
                    if isinstance(k, yaml.ScalarNode):
                        seen[k.value] = line
            stack.append((n, True))
            stack += [(c, False) for c in children if id(c) not in entered]
            continue
        size = 1 + sum(expanded.get(id(c), 1) for c in children)
        expanded[id(n)] = size
        if size > MAX_NODES:
            raise SpecError(
                f"{source}:{n.start_mark.line + 1}: the spec expands to more than "
                f"{MAX_NODES:,} values (aliases repeated over and over?)"
            )


def read_spec(path: str | Path) -> tuple[TableSpec, Callable[[tuple], int | None]]:
    """The spec in `path` and a function giving the line of a field path in it.

    SpecError (exit 2) names the file and line for every problem, the file's own included."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"{p}: no such file")
    if not p.is_file():
        raise SpecError(f"{p}: not a file")
    size = p.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{p}: {size:,} bytes; a spec is at most {MAX_SPEC_BYTES:,} bytes")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise SpecError(f"{p}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SpecError(
            f"{p}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SpecError(f"{p}:{line}: a NUL byte: this is not a text file")
    try:
        node = yaml.compose(text)
    except RecursionError:
        raise SpecError(f"{p}: nested too deeply to be a spec") from None
    except yaml.YAMLError:
        node = None  # parse_spec reports it with its line
    if node is not None:
        _check_nodes(node, str(p))
    try:
        spec = parse_spec(text, str(p))
    except RecursionError:
        raise SpecError(f"{p}: nested too deeply to be a spec") from None

    def line_of(field: tuple) -> int | None:
        return _line_of(node, field) if node is not None else None

    return spec, line_of
