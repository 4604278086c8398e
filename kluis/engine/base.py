"""What extraction needs from a query engine, written once; each backend fills in the rest.

Extraction code is written as plain Ibis expressions over tables this class hands out
(`read_parquet`, `register`, `stage`) and gets results back as Arrow (`to_arrow`, `to_batches`),
always in the declared types: engines differ in integer widths (Spark returns int32 where
DuckDB returns int64), in how they write Parquet (one file or a directory of parts) and in
whether they can stream. Those differences live in the subclasses (kluis.engine.duckdb,
kluis.engine.spark), modelled on ehrQL's query engines: the base class holds everything that
does not depend on the backend, a subclass only the few operations that do, and what a backend
cannot do is declared in its `capabilities` rather than papered over.

Everything goes through Ibis's public API (`read_parquet`, `create_view` of a `memtable`,
`to_parquet`, `to_pyarrow`, `compile`); where a backend needs more, its module says why.
"""

from __future__ import annotations

import itertools
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import pyarrow as pa


@dataclass(frozen=True)
class Capabilities:
    """What a backend can and cannot do, so callers (and readers) need not guess.

    - `streams_results`: `to_batches` yields bounded batches as the engine produces them;
      without it the whole result is collected on the driver first and yielded as one batch.
    - `memory_limit`: honours `EngineOptions.memory_limit` / `threads` / `temp_directory`
      (spilling to disk past the limit); without it those options are not used.
    - `zero_copy_register`: `register` reads Arrow data in place; without it the data is
      copied into the engine.
    - `parquet_single_file`: `stage` writes one Parquet file; without it a directory of parts.
    - `keyed_hash`: the engine can compute a keyed hash (HMAC) in a query. Neither can: the
      pseudonym map is computed in Python (kluis.pseudonym) and joined in as data, so key
      material never appears in query text or engine logs.
    """

    streams_results: bool
    memory_limit: bool
    zero_copy_register: bool
    parquet_single_file: bool
    keyed_hash: bool = False


class EngineError(RuntimeError):
    """An engine used in a way it does not support (a programming error, not bad input)."""


class Engine(ABC):
    """An Ibis connection plus the few engine-specific operations extraction needs."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    _names = itertools.count(1)

    def __init__(self, con: Any) -> None:
        self.con = con  # the Ibis backend: build expressions with it, never execute directly

    # -- input -------------------------------------------------------------------------------

    def _name(self, hint: str) -> str:
        """A table name unique in this process (several engines may share a Spark session)."""
        return f"kluis_{hint}_{os.getpid()}_{next(self._names)}"

    def read_parquet(self, paths: Sequence[Path], hint: str = "t") -> ir.Table:
        """One table over the given Parquet files (all with the same schema) or, for what
        `stage` wrote, its file or directory."""
        files = [str(p) for p in paths]
        if not files:
            raise ValueError("read_parquet: no files given")
        missing = [f for f in files if not Path(f).exists()]
        if missing:
            raise FileNotFoundError(f"missing Parquet file(s): {', '.join(missing)}")
        return self._read_parquet(files, self._name(hint))

    def register(self, table: pa.Table, hint: str = "arrow") -> ir.Table:
        """Make an Arrow table (e.g. a pseudonym map) available to expressions as data, never
        as SQL text. The view is created now, so later queries need no set-up step."""
        data = ibis.memtable(table, schema=ibis.Schema.from_pyarrow(table.schema))
        return self.con.create_view(self._name(hint), data, overwrite=True)

    def stage(self, expr: ir.Table, directory: Path, hint: str = "stage") -> ir.Table:
        """Compute `expr` once into Parquet under `directory` and return a table reading it
        back: for an intermediate result that several later queries use. The engine writes
        (streaming, in parallel); the caller owns and removes `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        name = self._name(hint)
        path = directory / (f"{name}.parquet" if self.capabilities.parquet_single_file else name)
        self.con.to_parquet(expr, path, **self._parquet_options())
        return self.read_parquet([path], hint)

    # -- output ------------------------------------------------------------------------------

    def to_arrow(self, expr: ir.Table, schema: pa.Schema | None = None) -> pa.Table:
        """Execute and collect as one Arrow table, cast to `schema` when given (column order
        and types exactly as declared, whatever the engine returned)."""
        result = self._collect(expr)
        return conform(result, schema) if schema is not None else result

    def to_batches(
        self, expr: ir.Table, schema: pa.Schema | None = None, chunk_rows: int = 1_000_000
    ) -> Iterator[pa.Table]:
        """Execute and yield the result as Arrow tables, in the engine's order. Memory stays
        bounded only with `capabilities.streams_results`."""
        for t in self._stream(expr, chunk_rows):
            yield conform(t, schema) if schema is not None else t

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what each backend implements ---------------------------------------------------------

    @abstractmethod
    def _read_parquet(self, files: list[str], name: str) -> ir.Table: ...

    @abstractmethod
    def _parquet_options(self) -> dict[str, Any]:
        """Writer options for `stage` (passed to the backend's `to_parquet`)."""

    @abstractmethod
    def _collect(self, expr: ir.Table) -> pa.Table: ...

    @abstractmethod
    def _stream(self, expr: ir.Table, chunk_rows: int) -> Iterator[pa.Table]: ...

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and a session the engine started itself)."""


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast `table` to `schema` (names must match; the engine's int widths vary)."""
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"result lacks columns {missing}")
    cols = []
    for f in schema:
        col = table.column(f.name)
        if col.type != f.type:
            col = col.cast(f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def check_registered(expr: ir.Table) -> None:
    """Raise when `expr` holds in-memory data not registered through `Engine.register`: the
    backends that execute compiled SQL themselves would not find it."""
    import ibis.expr.operations as ops

    if expr.op().find(ops.InMemoryTable):
        raise EngineError(
            "the expression holds an ibis.memtable; register Arrow data with Engine.register"
        )
