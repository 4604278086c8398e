"""kluis.safe inside the enclave writes requests (intents), takes no rules, and what it writes is
read back strictly by the trusted side."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kluis.safe as safe
from kluis.enclave import safe as impl
from kluis.enclave.intents import read_intents


@pytest.fixture
def enclave(tmp_path: Path, monkeypatch):
    part = tmp_path / "extract" / "table1_next" / "year=2025" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "person_id": list(range(1, 31)),
                "year": [2025] * 30,
                "sex": ["1", "2"] * 15,
                "age": [30.0] * 30,
            }
        ),
        part,
    )
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    context = {
        "extract": str(tmp_path / "extract"),
        "tables": {"table1_next": ["table1_next/year=2025/part-0.parquet"]},
        "outbox": str(outbox),
        "project": str(tmp_path),
        "entry": "analysis.py",
        "deliberation": "26/104",
        "phase": "development",
        "rules": {"deliberation": "26/104", "min_cell": 10},
    }
    (tmp_path / "context.json").write_text(json.dumps(context))
    monkeypatch.setenv(impl.CONTEXT_ENV, str(tmp_path / "context.json"))
    impl._context.cache_clear()
    impl._connection.cache_clear()
    yield outbox
    impl._context.cache_clear()
    impl._connection.cache_clear()


def test_outside_the_enclave_it_refuses(monkeypatch):
    monkeypatch.delenv(impl.CONTEXT_ENV, raising=False)
    impl._context.cache_clear()
    with pytest.raises(impl.EnclaveError, match="inside `kluis enclave run`"):
        safe.data("table1_next")


def test_a_crosstab_is_a_request_with_its_query(enclave):
    t = safe.data("table1_next")
    handle = safe.crosstab(t.filter(t.year == 2025), "sex", name="by_sex")
    assert handle.name == "by_sex" and "checked by the enclave" in repr(handle)
    [intent], problems = read_intents(enclave)
    assert problems == []
    assert (intent.kind, intent.dimensions, intent.statistic) == ("table", ["sex"], "count")
    assert '"table1_next"' in intent.sql and "2025" in intent.sql


@pytest.mark.parametrize(
    "kwargs",
    [{"rules": {"min_frequency": 1}}, {"min_cell": 1}, {"threshold": 0}, {"method": "none"}],
)
def test_rules_cannot_be_passed_and_the_attempt_is_reported(enclave, kwargs):
    t = safe.data("table1_next")
    with pytest.raises(PermissionError, match="26/104"):
        safe.crosstab(t, "sex", **kwargs)
    [intent], _ = read_intents(enclave)
    assert intent.kind == "tamper" and "rules cannot be set" in intent.detail


def test_a_pandas_frame_is_refused(enclave):
    frame = pd.DataFrame({"person_id": [1, 2], "sex": ["1", "2"]})
    with pytest.raises(TypeError, match="Ibis table"):
        safe.crosstab(frame, "sex")


def test_histogram_needs_its_bins(enclave):
    with pytest.raises(ValueError, match="minimum and maximum"):
        safe.histogram(safe.data("table1_next"), "age")


def test_a_forged_request_with_rules_is_not_read(enclave):
    """Code that bypasses kluis.safe and writes a request itself cannot add rules: the model has
    no such field, so the file is rejected (and reported)."""
    folder = enclave / "intents"
    folder.mkdir()
    forged = {
        "kind": "table",
        "name": "x",
        "sql": "SELECT * FROM table1_next",
        "dimensions": ["sex"],
        "rules": {"min_frequency": 1},
    }
    (folder / "00001.json").write_text(json.dumps(forged))
    (folder / "00002.json").symlink_to("/etc/passwd")
    intents, problems = read_intents(enclave)
    assert intents == []
    assert any("rules" in p and "Extra inputs" in p for p in problems)
    assert any("not a regular file" in p for p in problems)
