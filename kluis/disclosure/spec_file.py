"""A SPEC.yaml file as `tables protect` reads it, with the line of every field.

The file is checked by the one reader of hand-written YAML (`kluis.yamlfile`: size limit,
UTF-8, nesting depth, alias expansion, duplicate keys); this module keeps the document so that
a rule the spec tries to weaken can be reported at its line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kluis.disclosure.spec import SpecError, TableSpec, spec_from_document
from kluis.yamlfile import YamlFileError, read_yaml


def read_spec(path: str | Path) -> tuple[TableSpec, Callable[[tuple], int | None]]:
    """The spec in `path` and a function giving the line of a field path in it.

    SpecError (exit 2) names the file and line for every problem, the file's own included."""
    try:
        doc = read_yaml(path, what="the spec")
    except YamlFileError as e:
        raise SpecError(str(e)) from None
    return spec_from_document(doc), doc.line
