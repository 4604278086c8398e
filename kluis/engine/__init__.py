"""kluis.engine: the only engine-specific code (DuckDB default, PySpark for larger runs)."""

from kluis.engine.adapter import ENGINES, Engine, EngineOptions, conform, connect

__all__ = ["ENGINES", "Engine", "EngineOptions", "conform", "connect"]
