"""What the validator reports: problems with a few located examples and a total count.

A data steward receiving a report must be able to open the named file, go to the named row and see
the offending value, so every example carries file, row and value; the total count says how many
rows share the problem beyond the capped examples.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Example:
    """One located occurrence: `row` counts from 1 (the first data row of the Parquet file)."""

    file: str | None
    row: int | None
    value: str | None


@dataclass(frozen=True)
class Problem:
    """One check that failed on one table/column, with a total count and capped examples."""

    check: str
    severity: Severity
    table: str | None
    column: str | None
    message: str
    count: int = 1
    examples: tuple[Example, ...] = field(default_factory=tuple)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass
class Report:
    """Everything the validator found in one warehouse directory."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> files, rows
    checks_run: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def find(
        self, check: str, table: str | None = None, column: str | None = None
    ) -> list[Problem]:
        """Problems of one kind (optionally on one table/column): a convenience for callers."""
        return [
            p
            for p in self.problems
            if p.check == check
            and (table is None or p.table == table)
            and (column is None or p.column == column)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "tables": self.tables,
            "checks_run": self.checks_run,
            "problems": [asdict(p) for p in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


MAX_VALUE_CHARS = 200


def show(value: Any) -> str | None:
    """A value as a steward reads it in a report (dates ISO; long values cut short)."""
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        text = value.isoformat()
    elif isinstance(value, bytes):
        text = value.hex()
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."
