"""Run checks as DuckDB SQL over the warehouse's Parquet files, streamed, never row by row.

Checks run in two steps. A *screen* computes, for many checks at once, one cheap aggregate each
(`count(*) - count(col)` for nulls, `min`/`max` for ranges, a filtered count otherwise) in one scan
of the table: on a clean warehouse that is all there is. Only a check whose screen is non-zero is
*located*: one query over `read_parquet(..., filename, file_row_number)` returns the total count
of offending rows and the first few by file and row (`min_by(..., n)`), never all of them.
A data page that fails to decode mid-query sets the file aside (reported) and the check is re-run
without it.
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
    screen: str = ""  # aggregate, non-zero when the check may fail; default: filtered count


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
        self._probed: set[str] = set()  # tables whose files were all decoded after an error
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

    def _examples_agg(self, value: str, order: str = "") -> str:
        """The first n rows (by `order`, file, row) as structs of file, row and value."""
        key = f"{{'o': {order}, 'f': _file, 'r': _row}}" if order else "{'f': _file, 'r': _row}"
        return f"min_by({{'f': _file, 'r': _row, 'v': ({value})::VARCHAR}}, {key}, {self.n})"

    def locate(self, src: str, chk: RowCheck, into: list[Problem] | None = None) -> None:
        """Count the rows of `src` failing `chk` and keep the first few as examples (appended
        to `into`, by default the runner's problems)."""
        count, ex = self.con.execute(
            f"SELECT count(*), {self._examples_agg(chk.value, chk.order)} FROM {src} "
            f"WHERE {chk.bad}"
        ).fetchall()[0]
        if count:
            (self.problems if into is None else into).append(
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

    # -- running -------------------------------------------------------------------------------

    def guarded(self, tables: Iterable[str], what: str, run: Callable[[], None]) -> None:
        """Run a check; on a decoding error, set aside the broken files of `tables` and retry."""
        tables = list(tables)
        for _ in range(_MAX_RETRIES):
            try:
                run()
                return
            except (duckdb.Error, pa.ArrowException, OSError, ValueError) as exc:
                # bad data must be reported, never crash the validator
                if isinstance(exc, duckdb.OutOfMemoryException) or not self._drop_broken(tables):
                    hint = (
                        " (raise --memory-limit)"
                        if isinstance(exc, duckdb.OutOfMemoryException)
                        else ""
                    )
                    self.problems.append(
                        Problem(
                            "check_failed",
                            "error",
                            tables[0] if tables else None,
                            None,
                            f"{what} could not be run: {str(exc).splitlines()[0]}{hint}",
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
        """Decode every file of `tables` fully (once per table); set aside those that fail.
        Any found?"""
        found = False
        for t in tables:
            if t in self._probed:
                continue
            self._probed.add(t)
            for f in list(self.inv.table_files(t)):
                try:
                    for _ in pq.ParquetFile(f.path).iter_batches(batch_size=262_144):
                        pass
                except (OSError, pa.ArrowException, ValueError) as exc:
                    self.inv.drop(f.path, str(exc).splitlines()[0])
                    found = True
        return found

    def row_checks(self, checks: list[RowCheck]) -> None:
        """Run row checks: one screening scan per table and set of files, then locate."""
        groups: dict[tuple[str, frozenset[Path]], list[RowCheck]] = {}
        for c in checks:
            files = frozenset(f.path for f in self.files_with(c.table, c.columns))
            if files:
                groups.setdefault((c.table, files), []).append(c)
        for (table, _files), group in groups.items():
            cols = [c for chk in group for c in chk.columns]
            self.screened(
                [table], f"checks of {table}", lambda t=table, c=cols: self.source(t, c), group
            )

    def screened(
        self,
        tables: Iterable[str],
        what: str,
        src: Callable[[], str | None],
        checks: list[RowCheck],
    ) -> None:
        """Screen `checks` in one scan of `src()` (which has `_file` and `_row`), then locate
        the rows of those that may fail."""

        def run() -> None:
            sql = src()
            if sql is None:  # every file was set aside meanwhile
                return
            if not sql.startswith("("):
                sql = f"({sql})"
            aggs = ", ".join(c.screen or f"count(*) FILTER (WHERE {c.bad})" for c in checks)
            flags = self.con.execute(f"SELECT {aggs} FROM {sql}").fetchall()[0]
            found: list[Problem] = []  # kept only when every query succeeded (no retry doubles)
            for chk, flag in zip(checks, flags, strict=True):
                if flag:
                    self.locate(sql, chk, found)
            self.problems.extend(found)

        self.guarded(list(tables), what, run)
