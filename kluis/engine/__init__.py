"""kluis.engine: the only engine-specific code (DuckDB default, PySpark for larger runs).

`connect(name)` gives an `Engine` (kluis.engine.base): what extraction needs from a query
engine, implemented once per backend (kluis.engine.duckdb, kluis.engine.spark). Extraction code
is written as plain Ibis expressions and never asks which engine runs them; what a backend
cannot do is declared in its `capabilities`.

Importing this package is cheap (no Ibis, DuckDB or Spark): the CLI imports it for the engine
names; the backends load when `connect` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kluis.engine.options import ENGINES, EngineOptions

if TYPE_CHECKING:
    from kluis.engine.base import Capabilities, Engine, conform

__all__ = ["ENGINES", "Capabilities", "Engine", "EngineOptions", "conform", "connect"]


def connect(
    name: str = "duckdb", options: EngineOptions | None = None, spark_session: Any = None
) -> Engine:
    """An engine by name. On Spark, pass an existing SparkSession to share it (tests do); the
    engine then leaves it running when closed."""
    opts = options or EngineOptions()
    if name == "duckdb":
        from kluis.engine.duckdb import DuckDBEngine

        if spark_session is not None:
            raise ValueError("a SparkSession was given for the duckdb engine")
        return DuckDBEngine.connect(opts)
    if name == "spark":
        from kluis.engine.spark import SparkEngine

        return SparkEngine.connect(opts, session=spark_session)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


def __getattr__(name: str) -> Any:
    # the base class and helpers import Ibis: load them only when asked for
    if name in ("Capabilities", "Engine", "conform"):
        from kluis.engine import base

        return getattr(base, name)
    raise AttributeError(f"module 'kluis.engine' has no attribute {name!r}")
