"""Classifications as data files: `kluis/codes/<name>.csv`.

Each file has at least the columns `code` and `label`; extra columns carry groupings (a province's
region, a NACE division's section, an ISCED-F narrow field's broad field, a country's group).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CodeList:
    """A classification: ordered codes with labels and optional grouping columns."""

    name: str
    rows: tuple[dict[str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r["code"] for r in self.rows)

    def label(self, code: str) -> str:
        for r in self.rows:
            if r["code"] == code:
                return r["label"]
        raise KeyError(f"code list {self.name}: unknown code {code!r}")

    def labels(self) -> dict[str, str]:
        return {r["code"]: r["label"] for r in self.rows}

    def mapping(self, column: str) -> dict[str, str]:
        """code -> value of a grouping column (e.g. province -> region)."""
        if self.rows and column not in self.rows[0]:
            raise KeyError(f"code list {self.name} has no column {column!r}")
        return {r["code"]: r[column] for r in self.rows}

    def __contains__(self, code: object) -> bool:
        return code in set(self.codes)


def names() -> tuple[str, ...]:
    """Names of all shipped code lists."""
    files = resources.files(__package__).iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".csv")))


@cache
def load(name: str) -> CodeList:
    """The code list `name`, read from its CSV file."""
    path = resources.files(__package__) / f"{name}.csv"
    if not path.is_file():
        raise KeyError(f"no code list {name!r}; known: {', '.join(names())}")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = tuple(dict(r) for r in csv.DictReader(fh))
    if not rows or "code" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"code list {name}: needs columns code and label")
    return CodeList(name=name, rows=rows)
