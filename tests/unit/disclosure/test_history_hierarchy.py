"""Hierarchies, linked tables across releases, differencing, and the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from kluis.cli import app
from kluis.disclosure.against_history import REASON
from kluis.disclosure.api import crosstab, run
from kluis.disclosure.cells import compute_cells
from kluis.disclosure.history import History
from kluis.disclosure.incidence import cell_name
from kluis.disclosure.protect import protect
from kluis.disclosure.record import record_of
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
    # a table that publishes the region x sector leaves without protection (threshold 1, only
    # possible through the engine, never through run/the CLI): everything the first release
    # hid becomes public, and the history's audit says so
    weak = protect(
        df, _hier_spec(name="again", rules={"min_frequency": 1, "group_disclosure": False})
    )
    assert not weak.hidden.any()
    findings = History(tmp_path).audit(weak)
    flagged = {f["cell"] for f in findings if f["kind"] == "linked"}
    rec = record_of(first)
    small = np.flatnonzero(first.primary.unsafe)
    assert small.size and flagged == {f"by_region_sector: {cell_name(rec, c)}" for c in small}


def test_linked_release_that_keeps_the_pattern_passes(tmp_path):
    df = _micro(3)
    run(df, _hier_spec(name="one"), history=tmp_path)
    again = run(df, _hier_spec(name="two"), history=tmp_path)
    assert again.ok and not again.history_findings


def test_differencing_between_two_populations_is_hidden_or_refused(tmp_path):
    df = _micro(4)
    df["foreign"] = df["person"] < 4  # a small group of 4 persons
    all_people = crosstab(
        df, "region", "sector", person="person", history=tmp_path, population="all"
    )
    assert all_people.ok
    small = df[~df.foreign]
    other = crosstab(
        small, "region", "sector", person="person", history=tmp_path, population="not foreign"
    )
    # the two tables differ by 4 persons: the second hides what would show where they are
    status = other.status
    assert (status["reason"] == REASON).any()
    published = other.cells
    first = all_people.cells
    both = published["persons"].notna() & first["persons"].notna()
    diff = (first.loc[both, "persons"] - published.loc[both, "persons"]).to_numpy()
    assert ((diff == 0) | (diff >= 10)).all()


def test_cli_protect_writes_public_and_internal_apart_and_rejects_bad_specs(tmp_path):
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
    assert "no --deliberation: checked with the default output rules" in res.output
    assert sorted(p.name for p in (out / "public").iterdir()) == ["jobs.csv"]
    table = pd.read_csv(out / "public" / "jobs.csv", dtype={"region": str})
    # the public table says what is hidden, not which hidden cells are the small ones
    assert set(table["status"]) == {"published", "suppressed"}
    assert table.loc[table.status != "published", "persons"].isna().all()
    internal = out / "internal"
    assert "NOT FOR RELEASE" in (internal / "NOT-FOR-RELEASE.txt").read_text()
    report = (internal / "jobs.internal-report.html").read_text()
    assert "Small cell risk analysis" in report and "NOT FOR RELEASE" in report
    status = pd.read_csv(internal / "jobs.internal-status.csv", dtype={"region": str})
    assert set(status["status"]) >= {"safe", "primary"}
    assert (internal / "record" / "meta.json").exists()
    spec.write_text("dimensions:\n  - column: region\nperson_id: person\nmethod: magic\n")
    res = CliRunner().invoke(app, ["tables", "protect", str(data), "--spec", str(spec)])
    assert res.exit_code == 2
    assert "spec.yaml:4" in res.output
