"""The 24/074 employer extract gives the same, independently recounted result on every engine."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kluis.deliberation.coarsening import scheme
from kluis.engine import Engine, connect
from kluis.extract.delivery.formats import conform_output
from kluis.extract.employers.build import build
from kluis.extract.employers.records import aggregate_cells, aggregate_employers
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


def test_means_on_class_boundaries_land_in_the_upper_class(engine):
    """Exact means on a boundary (30,000 EUR; FTE 0.9; age 40) belong to the class that starts
    there, whatever order the engine sums in."""
    wage_s, fte_s, age_s = (
        scheme(n) for n in ("annual_wage_classes", "fte_mean_classes", "mean_age_classes")
    )
    records = pa.table(
        {
            "employer_id": pa.array([1, 1, 2, 2, 2], pa.int64()),
            "year": pa.array([2010] * 5, pa.int16()),
            "group": ["control"] * 5,
            "education_level": ["710", "710", "310", "310", "310"],
            "education_field": ["041"] * 5,
            "annual_wage": [20_000.1, 39_999.9, 10_000.3, 10_000.3, 9_999.4],
            # (0.85 + 0.95) / 2 is 0.8999999999999999 in floating point: the boundary case
            "fte": [0.85, 0.95, 0.1, 0.2, 0.3],
            "age": pa.array([35, 45, 18, 22, 20], pa.int16()),
        }
    )
    t = engine.register(records, "boundary")
    cells = engine.to_arrow(
        aggregate_cells(t, {"w": ("annual_wage", wage_s), "f": ("fte", fte_s)}).order_by(
            "employer_id"
        )
    )
    emp = engine.to_arrow(aggregate_employers(t, {"a": ("age", age_s)}).order_by("employer_id"))
    label = lambda s, codes: [s.labels[c - 1] for c in codes]  # noqa: E731
    assert label(wage_s, cells.column("w").to_pylist()) == ["30k-<40k", "10k-<20k"]
    assert label(fte_s, cells.column("f").to_pylist()) == ["0.9-<1", "0-<0.25"]
    assert label(age_s, emp.column("a").to_pylist()) == ["40-<45", "<25"]
    assert cells.column("n_employees").to_pylist() == [2, 3]
