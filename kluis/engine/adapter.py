"""The one place that knows which engine runs the Ibis expressions.

Extraction code is written once as Ibis expressions; this adapter hides what differs between
DuckDB (default, one machine) and PySpark (local mode in tests, a cluster for users who outgrow
one machine): connection settings, reading a list of Parquet files, registering an Arrow table,
and collecting a result as Arrow with the exact output types (Spark returns int32 where DuckDB
returns int64, and writes directories of parts; we always collect to Arrow and write ourselves).
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineOptions:
    """Resource settings. DuckDB spills to `temp_directory` past `memory_limit`."""

    memory_limit: str = "4GB"
    threads: int = 2
    temp_directory: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"
    spark_shuffle_partitions: int = 8


class Engine:
    """An Ibis connection plus the few engine-specific operations extraction needs."""

    _names = itertools.count(1)

    def __init__(self, name: str, con: Any, session: Any = None, owns: bool = True) -> None:
        self.name = name
        self.con = con
        self.session = session  # the SparkSession on Spark
        self._owns = owns

    # -- input -------------------------------------------------------------------------------

    def _name(self, hint: str) -> str:
        return f"kluis_{hint}_{os.getpid()}_{next(self._names)}"

    def read_parquet(self, paths: Sequence[Path], hint: str = "t") -> ir.Table:
        """One table over the given Parquet files (all with the same schema)."""
        files = [str(p) for p in paths]
        if not files:
            raise ValueError("read_parquet: no files given")
        missing = [f for f in files if not Path(f).exists()]
        if missing:
            raise FileNotFoundError(f"missing Parquet file(s): {', '.join(missing)}")
        name = self._name(hint)
        if self.name == "spark":
            self.session.read.parquet(*files).createOrReplaceTempView(name)
            return self.con.table(name)
        return self.con.read_parquet(files, table_name=name)

    def register(self, table: pa.Table, hint: str = "arrow") -> ir.Table:
        """Make an Arrow table (e.g. a pseudonym map) available to expressions, as data, never
        as SQL text."""
        name = self._name(hint)
        if self.name == "spark":
            df = self.session.createDataFrame(table) if table.num_rows else None
            if df is None:  # Spark cannot infer a schema from an empty Arrow table
                from ibis.backends.pyspark.datatypes import PySparkSchema

                schema = PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(table.schema))
                df = self.session.createDataFrame([], schema=schema)
            df.createOrReplaceTempView(name)
            return self.con.table(name)
        self.con.con.register(name, table)  # a zero-copy view over the Arrow data
        return self.con.table(name)

    def stage(self, expr: ir.Table, directory: Path, hint: str = "stage") -> ir.Table:
        """Compute `expr` once into Parquet under `directory` and return a table reading it
        back: for an intermediate result that several later queries use. The engine writes
        (streaming, in parallel); the caller owns and removes `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        name = self._name(hint)
        self.con._run_pre_execute_hooks(expr)
        sql = self.con.compile(expr)
        if self.name == "spark":
            path = directory / name
            self.con.raw_sql(sql).write.parquet(str(path))
            self.session.read.parquet(str(path)).createOrReplaceTempView(name)
            return self.con.table(name)
        path = directory / f"{name}.parquet"
        target = str(path).replace("'", "''")
        self.con.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION snappy)")
        return self.read_parquet([path], hint)

    # -- output ------------------------------------------------------------------------------

    def to_arrow(self, expr: ir.Table, schema: pa.Schema | None = None) -> pa.Table:
        """Execute and collect as one Arrow table, cast to `schema` when given (column order
        and types exactly as declared, whatever the engine returned)."""
        if self.name == "spark":
            self.con._run_pre_execute_hooks(expr)  # registers memtables
            df = self.con.raw_sql(self.con.compile(expr))
            result = df.toArrow()
        else:
            self.con._run_pre_execute_hooks(expr)
            result = self.con.con.sql(self.con.compile(expr)).to_arrow_table()
        return conform(result, schema) if schema is not None else result

    def to_batches(
        self, expr: ir.Table, schema: pa.Schema | None = None, chunk_rows: int = 1_000_000
    ) -> Iterator[pa.Table]:
        """Execute and stream the result in order as Arrow tables (memory stays bounded on
        DuckDB; Spark collects first)."""
        if self.name == "spark":
            yield self.to_arrow(expr, schema)
            return
        self.con._run_pre_execute_hooks(expr)
        sql = self.con.compile(expr)
        reader = self.con.con.sql(sql).to_arrow_reader(chunk_rows)
        for batch in reader:
            t = pa.Table.from_batches([batch])
            yield conform(t, schema) if schema is not None else t

    def close(self) -> None:
        if self._owns:
            if self.name == "spark" and self.session is not None:
                self.session.stop()
            else:
                self.con.disconnect()


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


def connect(
    name: str = "duckdb", options: EngineOptions | None = None, spark_session: Any = None
) -> Engine:
    """An engine by name. On Spark, pass an existing SparkSession to share it (tests do)."""
    opts = options or EngineOptions()
    if name == "duckdb":
        temp = opts.temp_directory or Path(tempfile.gettempdir()) / "kluis-duckdb-spill"
        con = ibis.duckdb.connect(
            memory_limit=opts.memory_limit,
            threads=opts.threads,
            temp_directory=str(temp),
            preserve_insertion_order=False,
        )
        return Engine("duckdb", con)
    if name == "spark":
        owns = spark_session is None
        if spark_session is None:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            from pyspark.sql import SparkSession

            spark_session = (
                SparkSession.builder.master(opts.spark_master)
                .appName("kluis")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", str(opts.spark_shuffle_partitions))
                .config("spark.driver.memory", opts.spark_driver_memory)
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.ui.showConsoleProgress", "false")
                .getOrCreate()
            )
            spark_session.sparkContext.setLogLevel("ERROR")
        con = ibis.pyspark.connect(spark_session)
        return Engine("spark", con, session=spark_session, owns=owns)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
