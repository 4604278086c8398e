"""Profile of the generated warehouse: the figures agree with a recount in plain pyarrow."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kluis import codes
from kluis.warehouse.layout import table_path
from kluis.warehouse.profile import profile_warehouse
from kluis.warehouse.profile_charts import CHARTS, write_profile


def _population(wh: Path, year: int):
    persons = pq.read_table(
        table_path(wh, "persons"), columns=["insz", "birth_date", "sex", "waiting_register"]
    )
    py = pq.read_table(
        table_path(wh, "person_year", year), columns=["insz", "resident", "province", "sep_code"]
    )
    t = py.join(persons, "insz")
    age = pc.subtract(year, pc.year(t.column("birth_date")))
    keep = pc.and_(
        pc.and_(t.column("resident"), pc.invert(t.column("waiting_register"))),
        pc.and_(pc.greater_equal(age, 15), pc.less_equal(age, 64)),
    )
    return t.filter(keep)


def test_figures_match_an_independent_recount(small_warehouse: Path) -> None:
    p = profile_warehouse(small_warehouse)
    assert p.year == 2026
    pop = _population(small_warehouse, 2026)
    assert p.figure("residents_15_64").value == pop.num_rows
    group = codes.load("sep").mapping("group")
    working = sum(1 for s in pop.column("sep_code").to_pylist() if group[s] == "1")
    assert p.figure("employment_rate").value == pytest.approx(working / pop.num_rows)
    region = codes.load("province").mapping("region")
    rows = [
        (region[pr], group[s])
        for pr, s in zip(
            pop.column("province").to_pylist(), pop.column("sep_code").to_pylist(), strict=True
        )
    ]
    bxl = [g for r, g in rows if r == "Brussels"]
    assert p.figure("employment_rate_brussels").value == pytest.approx(
        sum(g == "1" for g in bxl) / len(bxl)
    )
    # the profile of a calibrated warehouse is mostly within tolerance, and it says which not
    assert sum(f.ok is True for f in p.figures) > len(p.figures) / 2


def test_profile_outputs(small_warehouse: Path, tmp_path: Path) -> None:
    written = write_profile(profile_warehouse(small_warehouse, year=2010), tmp_path / "out")
    assert {w.name for w in written} == {"profile.json", *CHARTS}
    assert all(w.stat().st_size > 1000 for w in written)
