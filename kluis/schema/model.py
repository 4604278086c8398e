"""The vocabulary for declaring warehouse tables once.

A `Table` is the single source for the generator's Arrow types, the validator's checks and the
codebook in docs/warehouse.md: nothing else in kluis spells out a warehouse column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pyarrow loads when a type is asked for: `deliberation check` needs none
    import pyarrow as pa

ColumnType = Literal["string", "int8", "int16", "int32", "int64", "float64", "bool", "date"]
Identifier = Literal["insz", "kbo", "rsz"]
# column type -> name of the pyarrow type factory
_ARROW = {
    "string": "string",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool_",
    "date": "date32",
}


@dataclass(frozen=True)
class Column:
    """One warehouse column: its type, meaning and constraints."""

    name: str
    type: ColumnType
    description: str
    codes: str | None = None  # name of a code list in kluis/codes
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    identifier: Identifier | None = None  # direct identifier with a check digit
    references: str | None = None  # "table.column" this column must exist in

    @property
    def arrow_type(self) -> pa.DataType:
        import pyarrow as pa

        return getattr(pa, _ARROW[self.type])()

    @property
    def is_direct_identifier(self) -> bool:
        return self.identifier is not None


@dataclass(frozen=True)
class Table:
    """One warehouse table, stored as Parquet under `<warehouse>/<name>/` (hive `year=` parts
    when `by_year`)."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    by_year: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"table {self.name}: duplicate column names")
        missing = set(self.key) - set(names)
        if missing:
            raise ValueError(f"table {self.name}: key columns {sorted(missing)} not declared")

    @property
    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)
