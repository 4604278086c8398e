"""Engine names and resource settings: imported by the CLI, so no Ibis, DuckDB or Spark here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineOptions:
    """Resource settings. DuckDB uses the first three (it spills to `temp_directory` past
    `memory_limit`); Spark the `spark_*` ones (see each engine's `capabilities`)."""

    memory_limit: str = "4GB"
    threads: int = 2
    temp_directory: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"
    spark_shuffle_partitions: int = 8
