"""What researcher code inside the sandbox may ask for: one small JSON file per requested output.

`kluis.safe` (inside the sandbox) never computes what leaves. Each call writes an *intent*: the
query that selects the rows of the output (an Ibis expression compiled to DuckDB SQL over the
extract's tables) and what to make of them (dimensions, statistic, formula, ...). The trusted
process outside the sandbox reads these files after the sandbox has exited, validates every one
of them against the models below (unknown fields refused: there is no field for rules), checks
the query, runs it itself on the extract and applies the deliberation's rules.

Nothing in an intent is believed about safety: an intent is a request, like a line of SQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from kluis.enclave.request import NAME_PATTERN

INTENTS_DIR = "intents"
FILES_DIR = "files"
#: a sandbox may ask for at most this many outputs per entry file
MAX_INTENTS = 500
#: and each intent file is at most this large (a query of a few hundred lines)
MAX_INTENT_BYTES = 1 << 20

Statistic = Literal["count", "sum", "mean", "median", "quantile", "min", "max"]
Column = Annotated[str, Field(min_length=1, max_length=128)]


class _Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=NAME_PATTERN)
    source: str = Field("", max_length=300, description="project file:line of the call")


class _FromQuery(_Intent):
    sql: str = Field(min_length=1, max_length=200_000, description="rows of the output")


class TableIntent(_FromQuery):
    """crosstab / pivot_table: a table of distinct persons (or a statistic) by dimensions."""

    kind: Literal["table"] = "table"
    dimensions: list[Column] = Field(min_length=1, max_length=6)
    values: Column | None = None
    statistic: Statistic = "count"
    quantile: float | None = Field(None, gt=0, lt=1)


class HistogramIntent(_FromQuery):
    """Counts of persons per bin of a numeric column, the bins given by the researcher."""

    kind: Literal["histogram"] = "histogram"
    column: Column
    edges: list[float] = Field(min_length=2, max_length=201)


class DescribeIntent(_FromQuery):
    """Summary statistics of numeric columns."""

    kind: Literal["describe"] = "describe"
    columns: list[Column] = Field(min_length=1, max_length=50)


class RegressionIntent(_FromQuery):
    """A statsmodels model given as a formula (checked term by term before it is evaluated)."""

    kind: Literal["regression"] = "regression"
    model: Literal["ols", "logit", "probit"]
    formula: str = Field(min_length=3, max_length=2_000)


class FileIntent(_Intent):
    """Any file the researcher made (a figure, a text): always to manual review."""

    kind: Literal["file"] = "file"
    path: str = Field(min_length=1, max_length=300, description="under files/ of the outbox")
    note: str = Field("", max_length=5_000)


class TamperIntent(BaseModel):
    """Reported by kluis.safe when researcher code tries to pass rules (logged, never obeyed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["tamper"] = "tamper"
    source: str = Field("", max_length=300)
    detail: str = Field(max_length=2_000)


Intent = Annotated[
    TableIntent | HistogramIntent | DescribeIntent | RegressionIntent | FileIntent | TamperIntent,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Intent] = TypeAdapter(Intent)


def dump(intent: BaseModel) -> str:
    return json.dumps(intent.model_dump(), ensure_ascii=False, sort_keys=True)


def read_intents(outbox: Path) -> tuple[list[Intent], list[str]]:
    """The valid intents a sandbox left in `outbox/intents/` (in the order they were made), and
    one problem line for each file that is not a valid intent (those are ignored)."""
    folder = outbox / INTENTS_DIR
    if not folder.is_dir() or folder.is_symlink():
        return [], []
    files = sorted(p for p in folder.iterdir())
    problems: list[str] = []
    if len(files) > MAX_INTENTS:
        problems.append(f"{len(files)} output requests; only the first {MAX_INTENTS} are read")
        files = files[:MAX_INTENTS]
    out: list[Intent] = []
    for p in files:
        if p.is_symlink() or not p.is_file():
            problems.append(f"{p.name}: not a regular file")
            continue
        if p.stat().st_size > MAX_INTENT_BYTES:
            problems.append(f"{p.name}: larger than {MAX_INTENT_BYTES} bytes")
            continue
        try:
            out.append(_ADAPTER.validate_json(p.read_bytes()))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "(file)"
            problems.append(f"{p.name}: {where}: {first['msg']}")
    return out, problems
