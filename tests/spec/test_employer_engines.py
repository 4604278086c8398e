"""The 24/074 employer extract gives the same, independently recounted result on every engine."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kluis.engine import Engine, connect
from kluis.extract.employer import build
from kluis.extract.formats import conform_output
from tests.unit.extract.test_employer_build import (
    Tiny,
    assert_independent_count,
    collect,
    make_context,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Tiny:
    return Tiny(tmp_path_factory.mktemp("employer-spec") / "wh", seed=8)


def _outputs(tiny: Tiny, engine: Engine, phase: str) -> dict[str, pa.Table]:
    """Every output table in its published types, sorted by all its columns."""
    ctx = make_context(tiny, phase=phase, engine=engine)
    tables = build(ctx)
    out = collect(ctx, tables)
    return {
        t.name: conform_output(
            t, out[t.name].sort_by([(c, "ascending") for c in out[t.name].column_names])
        )
        for t in tables
    }


def test_full_phase_equals_an_independent_count(engine, tiny):
    ctx = make_context(tiny, phase="full", engine=engine)
    tables = build(ctx)
    employees = ctx.deliberation.population.employees
    assert_independent_count(tiny, ctx, tables, collect(ctx, tables), employees)


def test_development_fragment_is_the_same_on_every_engine(engine, tiny):
    got = _outputs(tiny, engine, "development")
    reference_engine = connect("duckdb")
    try:
        reference = _outputs(tiny, reference_engine, "development")
    finally:
        reference_engine.close()
    assert got.keys() == reference.keys()
    for name in got:
        assert got[name].num_rows > 0, name
        assert got[name].equals(reference[name]), name
