"""Problems found in a deliberation file, each located at a YAML line and a field path.

A steward fixing a file needs 'FILE:LINE: field: message', not a traceback: every parse, schema
and semantic error becomes a `Problem`, and `DeliberationError` carries all of them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kluis.errors import BadInput, Refused
from kluis.yamlfile import FieldPath, format_path

__all__ = ["DeliberationError", "FieldPath", "NotInForce", "Problem", "format_path"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deliberation file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = "" if self.field == "(file)" else f"{self.field}: "  # the file as a whole
        return f"{where}: {field}{self.message}"


class DeliberationError(BadInput):
    """A deliberation file that cannot be used, with every problem found in it."""

    def __init__(self, problems: Sequence[Problem], summary: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [str(p) for p in self.problems] + ([summary] if summary else [])
        super().__init__("\n".join(lines))


class NotInForce(Refused):
    """Extraction refused: the deliberation is not in force on the given date."""

    def __init__(self, number: str, reason: str) -> None:
        self.number = number
        self.reason = reason
        super().__init__(f"deliberation {number} is not in force: {reason}")
