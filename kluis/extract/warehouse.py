"""Warehouse tables as Ibis expressions on the chosen engine (read through the layout module)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ibis.expr.types as ir

from kluis.engine import Engine
from kluis.schema import table as schema_table
from kluis.warehouse.layout import read_meta, table_path, table_years


class WarehouseTables:
    """Reads each warehouse file at most once per extract; years not on disk give None."""

    def __init__(self, engine: Engine, directory: Path) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self.meta = read_meta(self.directory)
        self._cache: dict[tuple[str, int | None], ir.Table | None] = {}
        self._spans: dict[tuple[str, tuple[int, ...]], ir.Table] = {}

    @property
    def years(self) -> tuple[int, int]:
        first, last = self.meta["years"]
        return int(first), int(last)

    def has_year(self, year: int) -> bool:
        first, last = self.years
        return first <= year <= last

    def table(self, name: str, year: int | None = None) -> ir.Table | None:
        """`name` (of `year` for by-year tables), or None when that year is not in the
        warehouse. A year inside the warehouse's range whose file is missing is an error."""
        key = (name, year)
        if key not in self._cache:
            t = schema_table(name)
            if t.by_year:
                if year is None:
                    raise ValueError(f"table {name} is stored by year: give a year")
                if not self.has_year(year):
                    self._cache[key] = None
                    return None
                if year not in table_years(self.directory, name):
                    raise FileNotFoundError(
                        f"{table_path(self.directory, name, year)}: missing, though the "
                        f"warehouse covers {self.years[0]}-{self.years[1]}"
                    )
            path = table_path(self.directory, name, year if t.by_year else None)
            self._cache[key] = self.engine.read_parquet([path], hint=name)
        return self._cache[key]

    def span(self, name: str, years: Sequence[int]) -> ir.Table | None:
        """One table over the by-year files of `name` for those of `years` in the warehouse
        (each file holds its `year` column), or None when none is."""
        inside = tuple(sorted(y for y in set(years) if self.has_year(y)))
        if not inside:
            return None
        if len(inside) == 1:
            return self.table(name, inside[0])
        key = (name, inside)
        if key not in self._spans:
            on_disk = set(table_years(self.directory, name))
            for y in inside:
                if y not in on_disk:
                    raise FileNotFoundError(
                        f"{table_path(self.directory, name, y)}: missing, though the "
                        f"warehouse covers {self.years[0]}-{self.years[1]}"
                    )
            paths = [table_path(self.directory, name, y) for y in inside]
            self._spans[key] = self.engine.read_parquet(paths, hint=name)
        return self._spans[key]

    def rows(self, name: str, year: int | None = None) -> int:
        """Rows of one warehouse file, from its Parquet footer (no data read): for sizing
        queries."""
        import pyarrow.parquet as pq

        t = schema_table(name)
        path = table_path(self.directory, name, year if t.by_year else None)
        return pq.ParquetFile(path).metadata.num_rows

    def persons(self) -> ir.Table:
        t = self.table("persons")
        assert t is not None
        return t
