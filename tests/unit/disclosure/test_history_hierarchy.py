"""Hierarchies, linked tables across releases, differencing, and the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from kluis.cli import app
from kluis.disclosure.api import crosstab, run
from kluis.disclosure.cells import compute_cells
from kluis.disclosure.spec import TableSpec

from .attacker import attacker_intervals

REGIONS = {"1": "N", "2": "N", "3": "S", "4": "S", "5": "S"}


def _micro(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "region": rng.choice(list(REGIONS), n, p=[0.4, 0.3, 0.2, 0.07, 0.03]),
            "sector": rng.choice(list("ABCD"), n, p=[0.4, 0.3, 0.2, 0.1]),
            "foreign": rng.random(n) < 0.03,
        }
    )


def _hier_spec(**kw) -> TableSpec:
    return TableSpec(
        dimensions=[
            {"column": "region", "hierarchy": [{"level": "part", "map": REGIONS}]},
            {"column": "sector"},
        ],
        person_id="person",
        **kw,
    )


def test_hierarchy_cells_add_up_and_suppression_survives_an_independent_attack():
    df = _micro(1)
    ct = compute_cells(df, _hier_spec())
    ts = ct.structure
    assert [n for n in ts.dims[0].nodes if n[0] == "part"] == [("part", "N"), ("part", "S")]
    counts = ct.stats["weighted"].to_numpy()
    # independent relations: leaves -> parts -> total on region, leaves -> total on sector
    grid = counts.reshape(ts.shape)  # region nodes: 1..5, N, S, Total; sector: A..D, Total
    assert np.allclose(grid[5], grid[0] + grid[1]) and np.allclose(grid[6], grid[2:5].sum(0))
    assert np.allclose(grid[7], grid[5] + grid[6]) and np.allclose(grid[:, 4], grid[:, :4].sum(1))
    pt = run(df, _hier_spec())
    eqs = []
    for col in range(5):
        for parent, kids in ((5, [0, 1]), (6, [2, 3, 4]), (7, [5, 6])):
            r = np.zeros(grid.size)
            r[parent * 5 + col] = -1
            r[[k * 5 + col for k in kids]] = 1
            eqs.append(r)
    for row in range(8):
        r = np.zeros(grid.size)
        r[row * 5 + 4] = -1
        r[[row * 5 + c for c in range(4)]] = 1
        eqs.append(r)
    iv = attacker_intervals(np.array(eqs), counts, pt.hidden)
    up = pt.primary.up["count"]
    assert pt.primary.unsafe.any()
    for cell in np.flatnonzero(pt.primary.unsafe):
        low, high = iv[int(cell)]
        assert high >= counts[cell] + up[cell] - 1e-6
        assert low <= max(0.0, counts[cell] - up[cell]) + 1e-6


def test_linked_release_that_reveals_an_old_suppression_is_flagged(tmp_path):
    df = _micro(2)
    first = run(df, _hier_spec(name="by_region_sector"), history=tmp_path)
    assert first.ok and first.hidden.any()
    # a second table publishes the region x sector leaves without protection (threshold 1):
    # everything the first release hid becomes public
    second = run(
        df,
        _hier_spec(name="again", rules={"min_frequency": 1, "group_disclosure": False}),
        history=tmp_path,
    )
    assert not second.ok
    assert any(f["kind"] == "linked" for f in second.history_findings)


def test_linked_release_that_keeps_the_pattern_passes(tmp_path):
    df = _micro(3)
    run(df, _hier_spec(name="one"), history=tmp_path)
    again = run(df, _hier_spec(name="two"), history=tmp_path)
    assert again.ok and not again.history_findings


def test_differencing_between_two_populations_is_flagged(tmp_path):
    df = _micro(4)
    df["foreign"] = df["person"] < 4  # a small group of 4 persons
    all_people = crosstab(
        df, "region", "sector", person="person", history=tmp_path, population="all"
    )
    assert all_people.ok
    small = df[~df.foreign]
    assert 0 < df.foreign.sum() < 10
    other = crosstab(
        small, "region", "sector", person="person", history=tmp_path, population="not foreign"
    )
    kinds = {f["kind"] for f in other.result.history_findings}
    assert "differencing" in kinds and not other.ok


def test_cli_protect_writes_three_files_and_rejects_bad_specs(tmp_path):
    df = _micro(5)
    data = tmp_path / "micro.csv"
    df.to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: jobs\ndimensions:\n  - column: region\n    hierarchy:\n      - level: part\n"
        "        map: {'1': N, '2': N, '3': S, '4': S, '5': S}\n  - column: sector\n"
        "person_id: person\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["tables", "protect", str(data), "--spec", str(spec), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "jobs.csv", dtype={"region": str})
    assert set(table["status"]) >= {"safe", "primary"}
    assert table.loc[table.status != "safe", "persons"].isna().all()
    assert "Small cell risk analysis" in (out / "jobs.report.html").read_text()
    assert (out / "jobs.status.csv").exists()
    spec.write_text("dimensions:\n  - column: region\nperson_id: person\nmethod: magic\n")
    res = CliRunner().invoke(app, ["tables", "protect", str(data), "--spec", str(spec)])
    assert res.exit_code == 2
    assert "spec.yaml:4" in res.output
