"""What every engine promises extraction (kluis.engine.base.Engine), checked on DuckDB and Spark,
and that each backend does what its `capabilities` declare."""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kluis.engine import ENGINES, Capabilities, Engine, connect
from kluis.engine.base import EngineError

DATA = pa.table(
    {
        "id": pa.array(["a", "b", "c", "d"]),
        "n": pa.array([1, None, 3, 4], pa.int64()),
        "x": pa.array([0.5, None, float("nan"), 2.0], pa.float64()),
        "flag": pa.array([True, None, False, True]),
    }
)


def _rows(t: pa.Table) -> list[dict]:
    """Rows by id, NaN spelled out (NaN != NaN would fail any comparison)."""
    rows = sorted(t.to_pylist(), key=lambda r: r["id"])
    return [{k: "NaN" if v != v else v for k, v in r.items()} for r in rows]


def test_register_keeps_values_nulls_and_types(engine: Engine) -> None:
    t = engine.register(DATA, hint="contract")
    got = engine.to_arrow(t, DATA.schema)
    assert got.schema == DATA.schema
    rows = _rows(got)
    assert [r["n"] for r in rows] == [1, None, 3, 4]
    # a null stays null (not NaN), a NaN stays a number
    assert rows[1]["x"] is None and rows[2]["x"] == "NaN"
    assert [r["flag"] for r in rows] == [True, None, False, True]


def test_register_an_empty_table_keeps_its_schema(engine: Engine) -> None:
    t = engine.register(DATA.slice(0, 0), hint="empty")
    assert dict(t.schema().items()) == dict(ibis.Schema.from_pyarrow(DATA.schema).items())
    assert engine.to_arrow(t.count().as_table()).column(0)[0].as_py() == 0


def test_to_arrow_conforms_to_the_declared_schema(engine: Engine) -> None:
    t = engine.register(DATA, hint="conform")
    expr = t.select("id", n=t.n.cast("int32"))
    want = pa.schema([("n", pa.int64()), ("id", pa.string())])
    got = engine.to_arrow(expr, want)
    assert got.schema == want  # order and widths as declared, whatever the engine returned
    assert sorted(got.column("n").to_pylist(), key=lambda v: (v is None, v)) == [1, 3, 4, None]


def test_stage_writes_what_the_capabilities_say_and_reads_it_back(
    engine: Engine, tmp_path: Path
) -> None:
    t = engine.register(DATA, hint="stage")
    staged = engine.stage(t.filter(t.n.notnull()), tmp_path / "work", hint="st")
    assert _rows(engine.to_arrow(staged, DATA.schema)) == _rows(
        DATA.filter(pa.compute.is_valid(DATA.column("n")))
    )
    (written,) = list((tmp_path / "work").iterdir())
    if engine.capabilities.parquet_single_file:
        assert written.is_file() and pq.read_table(written).num_rows == 3
    else:
        assert written.is_dir() and pq.read_table(written).num_rows == 3


def test_to_batches_streams_only_where_declared(engine: Engine) -> None:
    big = pa.table({"i": pa.array(range(5000), pa.int64())})
    t = engine.register(big, hint="batches")
    batches = list(engine.to_batches(t, pa.schema([("i", pa.int64())]), chunk_rows=1000))
    assert sum(b.num_rows for b in batches) == 5000
    assert sorted(pa.concat_tables(batches).column("i").to_pylist()) == list(range(5000))
    if engine.capabilities.streams_results:
        assert len(batches) > 1 and max(b.num_rows for b in batches) <= 1000
    else:
        assert len(batches) == 1


def test_unregistered_in_memory_data_is_refused(engine: Engine) -> None:
    """Arrow data must come in through `register`: an ibis.memtable would not be found by
    engines that run the compiled SQL themselves."""
    expr = ibis.memtable(DATA)
    with pytest.raises(EngineError, match="Engine.register"):
        list(engine.to_batches(expr))


def test_every_engine_declares_its_capabilities(engine: Engine) -> None:
    caps = engine.capabilities
    assert isinstance(caps, Capabilities)
    assert engine.name in ENGINES
    # neither engine computes keyed hashes in queries: pseudonyms are made in Python
    assert caps.keyed_hash is False


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine 'polars'"):
        connect("polars")
