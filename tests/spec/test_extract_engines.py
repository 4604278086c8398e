"""The same extraction on DuckDB and Spark: identical files, row for row and byte for byte.

The DuckDB run is the reference; each engine (DuckDB again: a rerun; Spark in local mode) runs
both phases of 26/104 (year 2025, with 2024 and 2026 linked) on the generated warehouse: the
development sample (400 persons, a permanent-random-number sample) and the full population. Each
must produce the same Parquet files, data package and codebook as the reference. Only the
manifest's `engine` field may differ.
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


SAMPLE = 400  # development sample: persons per year
# fewest rows a year's Parquet file must have (the comparison must be about real data)
MIN_ROWS = {"development": SAMPLE // 2, "full": 1000}


@pytest.fixture(scope="module")
def setup(small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("engines")
    delib = small_deliberation(base / "delib", (2025, 2025), persons_per_year=SAMPLE)
    ks = base / "ks"
    KeyStore(ks).create("26/104")
    return {"base": base, "delib": delib, "ks": ks, "wh": small_warehouse, "out": {}}


@pytest.fixture(params=["development", "full"])
def phase(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def reference(setup: dict, phase: str) -> dict:
    """The DuckDB extract of `phase`, made once per module."""
    if phase not in setup["out"]:
        out = setup["base"] / f"reference-{phase}"
        run_extract(
            setup["delib"], setup["wh"], phase, out, keystore=setup["ks"], today=TODAY, registry={}
        )
        setup["out"][phase] = out
    return {**setup, "out": setup["out"][phase], "phase": phase}


def test_engines_produce_identical_extracts(reference, engine_name, request, tmp_path) -> None:
    session = request.getfixturevalue("spark_session") if engine_name == "spark" else None
    out = tmp_path / engine_name
    phase = reference["phase"]
    run_extract(
        reference["delib"],
        reference["wh"],
        phase,
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
            assert a.num_rows == b.num_rows >= MIN_ROWS[phase], f
            assert a.to_pylist() == b.to_pylist(), f
        assert (ref / f).read_bytes() == (out / f).read_bytes(), f
    m_ref = json.loads((ref / "manifest.json").read_text())
    m_out = json.loads((out / "manifest.json").read_text())
    assert m_out["engine"] == engine_name
    assert m_out["phase"] == m_ref["phase"] == phase
    assert {k: v for k, v in m_ref.items() if k != "engine"} == {
        k: v for k, v in m_out.items() if k != "engine"
    }


def test_recode_cases_agree_on_every_engine(engine) -> None:
    got = run_cases(engine)
    for name, case in CASES.items():
        assert got[name] == case[3], name
