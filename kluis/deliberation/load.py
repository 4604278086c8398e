"""A deliberation that passed every check: parse (read.py) and validate (validate.py) together.

This is the only way the extractors obtain a deliberation: nothing unchecked is enforced.
"""

from __future__ import annotations

from pathlib import Path

from kluis.deliberation.errors import DeliberationError, Problem
from kluis.deliberation.model import Deliberation
from kluis.deliberation.read import parse
from kluis.deliberation.validate import validate_parsed
from kluis.yamlfile import locate

__all__ = ["load", "locate", "parse", "problems"]


def problems(path: str | Path) -> list[Problem]:
    """Every problem in a deliberation file (empty when it is valid); never raises for bad files."""
    try:
        parsed = parse(path)
    except DeliberationError as e:
        return list(e.problems)
    return validate_parsed(parsed)


def load(path: str | Path) -> Deliberation:
    """A deliberation that passed every check, or DeliberationError listing all problems."""
    parsed = parse(path)
    found = validate_parsed(parsed)
    if found:
        raise DeliberationError(found)
    return parsed.deliberation
