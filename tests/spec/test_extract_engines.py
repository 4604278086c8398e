"""The same extraction on DuckDB and Spark: identical files, row for row and byte for byte.

The DuckDB run is the reference; each engine (DuckDB again: a rerun; Spark in local mode) runs
the full phase of 26/104 (year 2025, with 2024 and 2026 linked) on the generated warehouse and
must produce the same Parquet files, data package and codebook. Only the manifest's `engine`
field may differ.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kluis.extract.run import run_extract
from kluis.pseudonym import KeyStore
from tests.spec.recode_cases import CASES, run_cases
from tests.spec.tinywh import small_deliberation

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def reference(small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("engines")
    delib = small_deliberation(base / "delib", (2025, 2025), persons_per_year=400)
    ks = base / "ks"
    KeyStore(ks).create("26/104")
    out = base / "reference"
    run_extract(delib, small_warehouse, "full", out, keystore=ks, today=TODAY, registry={})
    return {"delib": delib, "ks": ks, "out": out, "wh": small_warehouse}


def test_engines_produce_identical_extracts(reference, engine_name, request, tmp_path) -> None:
    session = request.getfixturevalue("spark_session") if engine_name == "spark" else None
    out = tmp_path / engine_name
    run_extract(
        reference["delib"],
        reference["wh"],
        "full",
        out,
        keystore=reference["ks"],
        today=TODAY,
        registry={},
        engine=engine_name,
        spark_session=session,
    )
    ref = reference["out"]
    files = sorted(p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    for f in files:
        if f == "manifest.json":
            continue
        if f.endswith(".parquet"):  # row for row first, for a readable failure
            a, b = pq.read_table(ref / f), pq.read_table(out / f)
            assert a.num_rows == b.num_rows > 1000
            assert a.to_pylist() == b.to_pylist(), f
        assert (ref / f).read_bytes() == (out / f).read_bytes(), f
    m_ref = json.loads((ref / "manifest.json").read_text())
    m_out = json.loads((out / "manifest.json").read_text())
    assert m_out["engine"] == engine_name
    assert {k: v for k, v in m_ref.items() if k != "engine"} == {
        k: v for k, v in m_out.items() if k != "engine"
    }


def test_recode_cases_agree_on_every_engine(engine) -> None:
    got = run_cases(engine)
    for name, case in CASES.items():
        assert got[name] == case[3], name
