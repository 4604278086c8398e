"""Run checks as DuckDB SQL over the warehouse's Parquet files, streamed, never row by row.

Every check is a query over `read_parquet(..., filename, file_row_number)` that yields the offending
rows; one aggregate returns their total count and the first few (by file and row) in the same pass
(`min_by(..., n)`), so a clean warehouse costs one scan per check and a broken one no more.
Row-level checks on the same files are batched into one scan. A data page that fails to decode
mid-query sets the file aside (reported) and the check is re-run without it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.warehouse.checks.files import DataFile, Inventory
from kluis.warehouse.checks.problems import Example, Problem, Severity, show

_MAX_RETRIES = 5


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal for a string or number."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


@dataclass(frozen=True)
class RowCheck:
    """A condition on single rows of one table: `bad` is a SQL predicate over `columns`."""

    check: str
    table: str
    column: str | None
    columns: tuple[str, ...]
    bad: str
    value: str  # SQL expression shown as the offending value
    message: str
    severity: Severity = "error"
    order: str = ""  # extra leading sort key for the examples (e.g. the duplicated key)


class Runner:
    """A DuckDB connection over one warehouse's inventory, collecting problems."""

    def __init__(
        self,
        inv: Inventory,
        *,
        max_examples: int = 20,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.inv = inv
        self.n = max_examples
        self.problems: list[Problem] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="kluis-validate-")
        self.con = duckdb.connect()
        self.con.execute(f"SET temp_directory = {literal(self._tmp.name)}")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {literal(memory_limit)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sources -------------------------------------------------------------------------------

    def files_with(self, table: str, columns: Iterable[str]) -> list[DataFile]:
        """Readable files of `table` in which all `columns` are present with the declared type."""
        need = set(columns)
        return [f for f in self.inv.table_files(table) if need <= f.usable]

    def source(self, table: str, columns: Iterable[str]) -> str | None:
        """SQL for `table` restricted to `columns`, plus `_file` and `_row` (0-based); None when
        no file has them all."""
        cols = list(dict.fromkeys(columns))
        files = self.files_with(table, cols)
        if not files:
            return None
        paths = ", ".join(literal(str(f.path)) for f in files)
        select = ", ".join(
            [*(quote(c) for c in cols), "filename AS _file", "file_row_number AS _row"]
        )
        return (
            f"(SELECT {select} FROM read_parquet([{paths}], filename = true, "
            "file_row_number = true, union_by_name = true, hive_partitioning = false))"
        )

    def _rel(self, path: str | None) -> str | None:
        if path is None:
            return None
        try:
            return Path(path).relative_to(self.inv.root).as_posix()
        except ValueError:
            return path

    def _examples(self, rows: list[dict] | None) -> tuple[Example, ...]:
        return tuple(
            Example(
                file=self._rel(r["f"]),
                row=None if r["r"] is None else int(r["r"]) + 1,
                value=show(r["v"]),
            )
            for r in rows or []
        )

    def _agg(self, predicate: str | None, value: str, order: str = "") -> str:
        """count + first n examples of the rows matching `predicate` (all rows when None)."""
        flt = f" FILTER (WHERE {predicate})" if predicate else ""
        key = f"{{'o': {order}, 'f': _file, 'r': _row}}" if order else "{'f': _file, 'r': _row}"
        return (
            f"count(*){flt}, "
            f"min_by({{'f': _file, 'r': _row, 'v': ({value})::VARCHAR}}, {key}, {self.n}){flt}"
        )

    # -- running -------------------------------------------------------------------------------

    def guarded(self, tables: Iterable[str], what: str, run: Callable[[], None]) -> None:
        """Run a check; on a decoding error, set aside the broken files of `tables` and retry."""
        tables = list(tables)
        for _ in range(_MAX_RETRIES):
            try:
                run()
                return
            except duckdb.Error as exc:
                if not self._drop_broken(tables):
                    self.problems.append(
                        Problem(
                            "check_failed",
                            "error",
                            tables[0] if tables else None,
                            None,
                            f"{what} could not be run: {str(exc).splitlines()[0]}",
                        )
                    )
                    return
        self.problems.append(
            Problem(
                "check_failed",
                "error",
                tables[0] if tables else None,
                None,
                f"{what} could not be run: too many unreadable files",
            )
        )

    def _drop_broken(self, tables: list[str]) -> bool:
        """Decode every file of `tables` fully; set aside those that fail. Any found?"""
        found = False
        for t in tables:
            for f in list(self.inv.table_files(t)):
                try:
                    for _ in pq.ParquetFile(f.path).iter_batches(batch_size=262_144):
                        pass
                except (OSError, pa.ArrowException, ValueError) as exc:
                    self.inv.drop(f.path, str(exc).splitlines()[0])
                    found = True
        return found

    def row_checks(self, checks: list[RowCheck]) -> None:
        """Run row checks, one scan per table and set of files."""
        groups: dict[tuple[str, frozenset[Path]], list[RowCheck]] = {}
        for c in checks:
            files = frozenset(f.path for f in self.files_with(c.table, c.columns))
            if files:
                groups.setdefault((c.table, files), []).append(c)
        for (table, _files), group in groups.items():
            self.guarded([table], f"checks of {table}", lambda t=table, g=group: self._batch(t, g))

    def _batch(self, table: str, group: list[RowCheck]) -> None:
        cols = [c for chk in group for c in chk.columns]
        src = self.source(table, cols)
        if src is not None:  # None: every file was set aside meanwhile
            self._run_batch(src, group)

    def _run_batch(self, src: str, group: list[RowCheck]) -> None:
        aggs = ", ".join(self._agg(c.bad, c.value, c.order) for c in group)
        row = self.con.execute(f"SELECT {aggs} FROM {src}").fetchall()[0]
        for i, chk in enumerate(group):
            count, ex = row[2 * i], row[2 * i + 1]
            if count:
                self.problems.append(
                    Problem(
                        chk.check,
                        chk.severity,
                        chk.table,
                        chk.column,
                        chk.message,
                        int(count),
                        self._examples(ex),
                    )
                )

    def joined_checks(
        self,
        tables: Iterable[str],
        what: str,
        src: Callable[[], str | None],
        checks: list[RowCheck],
    ) -> None:
        """Row checks over a derived source (e.g. a join) with `_file` and `_row` columns."""

        def run() -> None:
            sql = src()
            if sql is not None:
                self._run_batch(f"({sql})", checks)

        self.guarded(list(tables), what, run)

    def query_check(
        self,
        *,
        check: str,
        table: str,
        column: str | None,
        tables: Iterable[str],
        bad_rows: Callable[[], str | None],
        message: str,
        severity: Severity = "error",
        order: str = "",
    ) -> None:
        """A check whose offending rows come from a query (`_file`, `_row`, `_value`, ...)."""

        def run() -> None:
            sql = bad_rows()
            if sql is None:
                return
            agg = self._agg(None, "_value", order)
            count, ex = self.con.execute(f"SELECT {agg} FROM ({sql})").fetchall()[0]
            if count:
                self.problems.append(
                    Problem(check, severity, table, column, message, int(count), self._examples(ex))
                )

        self.guarded(list(tables), f"check {check} on {table}", run)
