"""The generator: calibration at about 200,000 persons, determinism, atomic publishing, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.warehouse import generate as gen_module
from kluis.warehouse.calibration import TARGETS
from kluis.warehouse.gen.measure import measure
from kluis.warehouse.generate import GenerateError, generate_warehouse
from kluis.warehouse.layout import META_FILE, file_digests, read_meta, warehouse_id

CALIBRATION_PERSONS = 200_000


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibration") / "wh"
    generate_warehouse(out, persons=CALIBRATION_PERSONS, years=(2024, 2025), seed=11)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("year", [2024, 2025])
def test_generated_figures_hit_every_calibration_target(calibrated: Path, year: int) -> None:
    got = measure(calibrated, year)
    misses = []
    for t in TARGETS:
        low, high = t.bounds(CALIBRATION_PERSONS)
        if not low <= got[t.name] <= high:
            misses.append(f"{t.name}: {got[t.name]:.4f} not in [{low:.4f}, {high:.4f}]")
    assert not misses, "\n".join(misses)


@pytest.mark.slow
def test_gradients_point_the_right_way(calibrated: Path) -> None:
    got = measure(calibrated, 2025)
    assert got["employment_rate_flanders"] > got["employment_rate_wallonia"]
    assert (
        got["unemployment_rate_brussels"]
        > got["unemployment_rate_wallonia"]
        > got["unemployment_rate_flanders"]
    )
    assert got["non_belgian_brussels"] > 2 * got["non_belgian"]
    assert got["wage_mean_ft"] > got["wage_median_ft"]  # right-skewed wages


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate_warehouse(tmp_path / "a", persons=600, years=(2019, 2021), seed=5)
    b = generate_warehouse(tmp_path / "b", persons=600, years=(2019, 2021), seed=5)
    c = generate_warehouse(tmp_path / "c", persons=600, years=(2019, 2021), seed=6)
    da, db = file_digests(tmp_path / "a"), file_digests(tmp_path / "b")
    assert da == db and len(da) == 2 + 5 * 3
    assert (tmp_path / "a" / META_FILE).read_bytes() == (tmp_path / "b" / META_FILE).read_bytes()
    assert a["id"] == b["id"] == warehouse_id(da)
    assert c["id"] != a["id"]


def test_metadata_describes_the_run(tmp_path: Path) -> None:
    meta = generate_warehouse(tmp_path / "w", persons=500, years=(2020, 2020), seed=3)
    on_disk = read_meta(tmp_path / "w")
    assert on_disk == json.loads(json.dumps(meta))
    assert on_disk["seed"] == 3 and on_disk["persons"] == 500
    assert on_disk["years"] == [2020, 2020]
    assert on_disk["generator"].startswith("kluis")


def test_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen_module, "write_employers", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_warehouse(tmp_path / "w", persons=400, years=(2020, 2021), seed=1)
    assert list(tmp_path.iterdir()) == []


def test_replaces_a_warehouse_but_not_other_data(tmp_path: Path) -> None:
    out = tmp_path / "w"
    first = generate_warehouse(out, persons=400, years=(2020, 2020), seed=1)
    second = generate_warehouse(out, persons=400, years=(2020, 2020), seed=2)
    assert read_meta(out)["id"] == second["id"] != first["id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(GenerateError, match="refusing"):
        generate_warehouse(other, persons=400, years=(2020, 2020), seed=1)
    assert (other / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("persons", "years"),
    [(10, (2020, 2020)), (1000, (2002, 2005)), (1000, (2021, 2020)), (1000, (2020, 2027))],
)
def test_bad_arguments_are_refused(tmp_path: Path, persons: int, years: tuple[int, int]) -> None:
    with pytest.raises(GenerateError):
        generate_warehouse(tmp_path / "w", persons=persons, years=years, seed=1)
    assert not (tmp_path / "w").exists()


def test_progress_is_reported_per_year(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_warehouse(
        tmp_path / "w", persons=300, years=(2020, 2022), seed=1, progress=lambda *a: calls.append(a)
    )
    labels = [c[0] for c in calls]
    assert [lab for lab in labels if lab.startswith("year")] == [
        "year 2020",
        "year 2021",
        "year 2022",
    ]
    assert calls[-1][1] == calls[-1][2] and [c[1] for c in calls] == sorted(c[1] for c in calls)


def test_cli_generate(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "w"
    res = runner.invoke(
        app,
        [
            "warehouse",
            "generate",
            "--persons",
            "400",
            "--years",
            "2021-2022",
            "--seed",
            "4",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    meta = read_meta(out)
    assert meta["years"] == [2021, 2022] and meta["seed"] == 4
    assert meta["id"] in res.output
    bad = runner.invoke(
        app, ["warehouse", "generate", "--years", "2021-20x", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code != 0 and "YYYY" in bad.output
    early = runner.invoke(
        app, ["warehouse", "generate", "--years", "1999-2001", "--out", str(tmp_path / "y")]
    )
    assert early.exit_code == 2 and "2003" in early.output
