"""PySpark: for users who outgrow one machine (local mode in tests). Collects results on the
driver; ~9x slower than DuckDB on two cores (docs/benchmarks.md)."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kluis.engine.base import Capabilities, Engine, check_registered
from kluis.engine.options import EngineOptions


class SparkEngine(Engine):
    """Ibis on a SparkSession: one the caller shares (tests) or one started and stopped here."""

    name = "spark"
    capabilities = Capabilities(
        streams_results=False,  # results come back whole to the driver (DataFrame.toArrow)
        memory_limit=False,  # sized by spark_driver_memory; memory_limit/threads unused
        zero_copy_register=False,  # registered Arrow data is copied into a Spark DataFrame
        parquet_single_file=False,  # Spark writes a directory of part files
    )

    def __init__(self, session: Any, owns: bool) -> None:
        super().__init__(ibis.pyspark.connect(session))
        self.session = session
        self._owns = owns

    @classmethod
    def connect(cls, options: EngineOptions, session: Any = None) -> SparkEngine:
        if session is not None:
            return cls(session, owns=False)
        # Spark's Python workers must run this interpreter (the venv's), not the system one
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(options.spark_master)
            .appName("kluis")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(options.spark_shuffle_partitions))
            .config("spark.driver.memory", options.spark_driver_memory)
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return cls(session, owns=True)

    def _read_parquet(self, files: list[str], name: str) -> ir.Table:
        if len(files) == 1:
            return self.con.read_parquet(files[0], table_name=name)
        # Ibis's PySpark read_parquet takes one path; Spark's reader takes several
        self.session.read.parquet(*files).createOrReplaceTempView(name)
        return self.con.table(name)

    def register(self, table: pa.Table, hint: str = "arrow") -> ir.Table:
        # Not Ibis's memtable: on PySpark it goes through pandas, where a null in a float
        # column becomes NaN, a value (a null income would be coarsened as 'NaN'). Spark 4
        # takes Arrow directly; the schema is given so that an empty table keeps its types.
        from ibis.backends.pyspark.datatypes import PySparkSchema

        name = self._name(hint)
        schema = PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(table.schema))
        self.session.createDataFrame(table, schema=schema).createOrReplaceTempView(name)
        return self.con.table(name)

    def _parquet_options(self) -> dict[str, Any]:
        return {}

    def _collect(self, expr: ir.Table) -> pa.Table:
        # Not Ibis's to_pyarrow: on PySpark it goes through pandas (toPandas), where nullable
        # integers become floats and back, and which is slower. Spark 4's toArrow is direct
        # and exact; registered data is already a view (Engine.register).
        check_registered(expr)
        df = self.session.sql(self.con.compile(expr))
        # PySpark 4.0 reads the result from a local socket it never closes: the garbage
        # collector closes it later, with a ResourceWarning, at a random moment. Close it
        # now, where we know its warning is PySpark's and not ours.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            table = df.toArrow()
            gc.collect()
        return table

    def _stream(self, expr: ir.Table, chunk_rows: int) -> Iterator[pa.Table]:
        yield self._collect(expr)  # capabilities.streams_results is False

    def close(self) -> None:
        if self._owns:
            self.session.stop()
