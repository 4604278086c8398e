"""The `engine` fixture: every spec test runs on DuckDB and on Spark (local mode)."""

from __future__ import annotations

import pytest

from kluis.engine import Engine, connect

ENGINE_PARAMS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("spark", id="spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")]),
]


@pytest.fixture(params=ENGINE_PARAMS)
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(engine_name: str, request: pytest.FixtureRequest) -> Engine:
    """An Engine on DuckDB (fresh) or on the shared session-scoped SparkSession."""
    if engine_name == "spark":
        session = request.getfixturevalue("spark_session")
        eng = connect("spark", spark_session=session)
    else:
        eng = connect("duckdb")
    yield eng
    eng.close()
