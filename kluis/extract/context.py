"""The extension point of `kluis extract`: what a builder receives and what it must return.

`kluis extract` loads and checks the deliberation, opens the engine and the pseudonym key, and
hands an `ExtractContext` to the builder registered for the deliberation's population unit
(`person` -> kluis.extract.panels.build.build, `employer` ->
kluis.extract.employers.build.build). The builder returns `OutputTable`s;
`kluis.extract.delivery.publish` turns them into Parquet (+ SPSS/Stata), the data package, the
codebook and the manifest, atomically. Builders never write files themselves.

Column conventions (what `publish` expects in the data of each year):

| ColumnMeta.kind | data given by the builder             | written as (Parquet / SPSS, Stata)   |
|-----------------|---------------------------------------|--------------------------------------|
| pseudonym       | integer 1..N                          | int64 / numeric                      |
| year            | integer                               | int16 / numeric                      |
| category        | 1-based code into `categories`, or    | dictionary<int16,string> of the      |
|                 | the category value itself (string)    | values / code with value labels      |
| boolean         | bool                                  | bool / 0-1 with labels no, yes       |
| integer         | integer                               | int64 / numeric                      |
| number          | float                                 | float64 / numeric                    |
| yearmonth       | integer YYYYMM, or string 'YYYY-MM'   | string 'YYYY-MM' / string            |
| string          | string                                | string / string                      |

Null stays null (system-missing in SPSS and Stata).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import ibis.expr.types as ir
import pyarrow as pa

from kluis.deliberation.model import Deliberation
from kluis.engine import Engine
from kluis.pseudonym import PseudonymKey

Phase = Literal["development", "full"]
PHASES: tuple[str, ...] = ("development", "full")
ColumnKind = Literal[
    "pseudonym", "year", "category", "boolean", "integer", "number", "yearmonth", "string"
]
KINDS: tuple[str, ...] = ColumnKind.__args__  # type: ignore[attr-defined]
# the rows of one table-year: an Ibis expression (executed and streamed by the engine), an
# Arrow table, or a function returning one (computed when publish gets to it, in year order:
# lets a builder share work between the tables of a year without holding every year)
YearData = ir.Table | pa.Table | Callable[[], pa.Table]
# what one row of an output table is (OutputTable.unit) -> how the codebook says it
TABLE_UNITS: dict[str, str] = {
    "person-year": "one person in one year T (the situation on 31 December of T)",
    "employer-year-cell": (
        "one employer, one year and one non-empty cell (combination of the grouping variables): "
        "aggregates of the employees in the cell, never one person's record"
    ),
    "employer-year": (
        "one employer in one year: aggregates over all its employees, never one person's record"
    ),
}


@dataclass(frozen=True)
class ColumnMeta:
    """One output column: its type, meaning and, for classes, the value labels.

    `categories` are (value, label) pairs in code order: code i (1-based) means
    categories[i-1]. The value is what Parquet holds; SPSS/Stata hold the code."""

    name: str
    kind: ColumnKind
    label: str = ""
    categories: tuple[tuple[str, str], ...] = ()
    source: str = ""  # deliberation source, e.g. person_year.province (for the codebook)
    coarsening: str = ""  # name of the coarsening scheme applied
    note: str = ""  # e.g. why the column is empty in some years

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: unknown kind {self.kind!r}")
        if self.kind == "category" and not self.categories:
            raise ValueError(f"column {self.name}: a category column needs its categories")
        values = [v for v, _ in self.categories]
        if len(values) != len(set(values)):
            raise ValueError(f"column {self.name}: duplicate category values")


@dataclass
class OutputTable:
    """One table of the extract: its columns and, per year, its rows.

    `years[y]` is YearData: an Ibis expression (executed by the engine, streamed), an Arrow
    table (a builder that had to collect, e.g. after scrambling) or a function returning one.
    Rows are written sorted by `sort_by`, which must identify a row (determinism)."""

    name: str
    columns: tuple[ColumnMeta, ...]
    years: dict[int, YearData]
    sort_by: tuple[str, ...]
    description: str = ""
    notes: tuple[str, ...] = ()  # codebook notes for the whole table
    year_notes: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # what one row is, for the codebook: a key of TABLE_UNITS ("" when the builder does not say)
    unit: str = ""

    def __post_init__(self) -> None:
        if self.unit and self.unit not in TABLE_UNITS:
            raise ValueError(f"table {self.name}: unknown unit {self.unit!r}")

    def column(self, name: str) -> ColumnMeta:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass
class ExtractContext:
    """Everything a builder needs; built once by `kluis.extract.run.run_extract`."""

    deliberation: Deliberation
    deliberation_path: Path
    warehouse: Path
    warehouse_meta: Mapping[str, Any]
    phase: Phase
    engine: Engine
    key: PseudonymKey
    today: dt.date
    inputs: Mapping[str, Path] = field(default_factory=dict)  # e.g. {"enterprises": nbb.csv}
    progress: Callable[[str], None] = lambda message: None
    # private scratch directory beside OUT for staged intermediates (removed after the run;
    # None: builders recompute instead of staging)
    workdir: Path | None = None
    # extra files a builder hands to the publisher (name -> text), e.g. a scrambling report;
    # written into OUT beside the data and listed and hashed in the manifest
    attachments: dict[str, str] = field(default_factory=dict)

    @property
    def warehouse_years(self) -> tuple[int, int]:
        first, last = self.warehouse_meta["years"]
        return int(first), int(last)

    def in_warehouse(self, year: int) -> bool:
        first, last = self.warehouse_years
        return first <= year <= last


class Builder(Protocol):
    """Turns a deliberation into output tables (never writes files)."""

    def __call__(self, ctx: ExtractContext) -> list[OutputTable]: ...
