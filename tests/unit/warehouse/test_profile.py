"""Profile figures, recounted by hand from the tiny warehouse's rows (tests/unit/warehouse/tiny.py).

Population of 2025 (residents 15-64 on 31 December, not in the waiting register):
P1 (man, 45, Antwerp, works full-time 150/day, master), P2 (woman, 35, Antwerp, part-time),
P3 (man, 50, Brussels, job-seeker, French), P4 (woman, 25, Liège, full-time 120/day, bachelor),
P9 (woman, 30, Flemish Brabant, social integration income), P11 (woman, 37, Antwerp, disability
allowance), P12 (man, 47, Limburg, full-time 200/day, lower secondary, Dutch).
Left out: P5 (65), P6 (14), P7 (waiting register), P8 (not resident), P10 (died in 2025).
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.warehouse.calibration import TARGETS
from kluis.warehouse.profile import MONTHLY_DAYS, ProfileError, profile_warehouse
from kluis.warehouse.profile_charts import CHARTS, write_profile
from tests.unit.warehouse import tiny

FT = {"P1": 150.0, "P4": 120.0, "P12": 200.0}  # full-time daily wages in the population


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build(tmp_path_factory.mktemp("tiny") / "wh")


def value(p, name: str) -> float | None:
    return p.figure(name).value


def test_population_figures(wh: Path) -> None:
    p = profile_warehouse(wh)
    assert p.year == 2025 and p.persons == 7
    assert value(p, "residents_15_64") == 7
    assert value(p, "share_female") == pytest.approx(4 / 7)
    assert value(p, "age_15_24") == 0
    assert value(p, "age_25_49") == pytest.approx(6 / 7)
    assert value(p, "age_50_64") == pytest.approx(1 / 7)
    assert value(p, "region_flanders") == pytest.approx(5 / 7)
    assert value(p, "region_wallonia") == pytest.approx(1 / 7)
    assert value(p, "region_brussels") == pytest.approx(1 / 7)
    assert value(p, "province_10000") == pytest.approx(3 / 7)
    assert value(p, "province_50000") == 0  # P5 lives in Hainaut but is 65
    assert value(p, "non_belgian") == pytest.approx(2 / 7)
    assert value(p, "non_belgian_brussels") == 1


def test_labour_market_figures(wh: Path) -> None:
    p = profile_warehouse(wh)
    assert value(p, "employment_rate") == pytest.approx(4 / 7)
    assert value(p, "employment_rate_flanders") == pytest.approx(3 / 5)
    assert value(p, "employment_rate_wallonia") == 1
    assert value(p, "employment_rate_brussels") == 0
    assert value(p, "employment_rate_men") == pytest.approx(2 / 3)
    assert value(p, "employment_rate_women") == pytest.approx(2 / 4)
    assert value(p, "unemployment_rate") == pytest.approx(1 / 5)
    assert value(p, "unemployment_rate_brussels") == 1
    assert value(p, "long_term_sick") == 0  # P5 is sick but 65
    assert value(p, "social_integration_income") == 1
    assert value(p, "disability_allowance") == 1


def test_wage_and_employer_figures(wh: Path) -> None:
    p = profile_warehouse(wh)
    monthly = {k: v * MONTHLY_DAYS for k, v in FT.items()}
    assert value(p, "wage_mean_ft") == pytest.approx(sum(monthly.values()) / 3)
    assert value(p, "wage_median_ft") == pytest.approx(monthly["P1"])
    high = median([monthly["P1"], monthly["P4"]])  # master, professional bachelor
    assert value(p, "wage_ratio_high_low") == pytest.approx(high / monthly["P12"])
    men = median([monthly["P1"], monthly["P12"]])
    assert value(p, "wage_ratio_female_male") == pytest.approx(monthly["P4"] / men)
    # employers with an employment in 2025: E1, E2 (incl. non-resident P8), E3
    assert value(p, "employers") == 3
    assert value(p, "employers_under_5") == 1  # 2, 2 and 1 jobs on 31 December
    assert value(p, "employers_100_plus") == 0


def test_another_year(wh: Path) -> None:
    p = profile_warehouse(wh, year=2024)
    # 2024 adds P5 (64) and P10 (alive, works); P6 is 13
    assert value(p, "residents_15_64") == 9
    assert value(p, "employment_rate") == pytest.approx(5 / 9)
    assert value(p, "long_term_sick") == 1
    with pytest.raises(ProfileError, match="outside"):
        profile_warehouse(wh, year=2019)


def test_targets_are_scaled_and_judged(wh: Path) -> None:
    p = profile_warehouse(wh)
    assert [f.name for f in p.figures] == [t.name for t in TARGETS]
    resid = p.figure("residents_15_64")
    assert resid.target == pytest.approx(7)  # 7.5M scaled to warehouse.json persons = 7
    assert resid.ok is True
    emp = p.figure("employment_rate")
    assert (emp.low, emp.high) == pytest.approx((0.65, 0.69))
    assert emp.ok is False  # 4/7 = 0.571


def test_distributions(wh: Path) -> None:
    d = profile_warehouse(wh).distributions
    pyramid = {(r["age"], r["sex"]): r["count"] for r in d["age_pyramid"]}
    # every resident (not only 15-64): 10 of the 11 rows of 2025 (P8 is not resident)
    assert sum(pyramid.values()) == 10
    assert pyramid[(65, "1")] == 1 and pyramid[(14, "2")] == 1
    flanders_women = [
        r for r in d["employment_by_region_sex"] if (r["region"], r["sex"]) == ("Flanders", "2")
    ]
    assert flanders_women[0]["persons"] == 3 and flanders_women[0]["rate"] == pytest.approx(1 / 3)
    bins = d["ft_wage_histogram"]["bins"]
    assert sum(b["count"] for b in bins) == 3
    assert [b["from"] for b in bins] == [2500, 3250, 4250]
    size = {r["code"]: r for r in d["employers_by_size_class"]}
    assert size["1"]["employers_31_dec"] == 3 and size["1"]["declared"] == 3


def test_charts_and_json_are_written_deterministically(wh: Path, tmp_path: Path) -> None:
    p = profile_warehouse(wh)
    written = write_profile(p, tmp_path / "a")
    assert sorted(x.name for x in written) == sorted(["profile.json", *CHARTS])
    for name in CHARTS:
        assert (tmp_path / "a" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "a" / "profile.json").read_text())
    assert data["year"] == 2025
    assert {f["name"]: f["value"] for f in data["figures"]}["residents_15_64"] == 7
    write_profile(profile_warehouse(wh), tmp_path / "b")
    for name in ("profile.json", *CHARTS):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []


def test_cli_profile(wh: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["warehouse", "profile", str(wh), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "employment_rate" in res.output
    assert (tmp_path / "o" / "age_pyramid.png").is_file()


def test_unreadable_warehouse_gives_a_clear_error(wh: Path, tmp_path: Path) -> None:
    import shutil

    broken = Path(shutil.copytree(wh, tmp_path / "broken"))
    (broken / "person_year/year=2025/part-0.parquet").write_bytes(b"PAR1 nonsense")
    with pytest.raises(ProfileError, match="validate"):
        profile_warehouse(broken)
    res = CliRunner().invoke(app, ["warehouse", "profile", str(broken)])
    assert res.exit_code == 2
    assert "validate" in res.output


def test_a_table_split_into_parts_gives_the_same_figures(wh: Path, tmp_path: Path) -> None:
    import shutil

    import pyarrow.parquet as pq

    split = Path(shutil.copytree(wh, tmp_path / "split"))
    part0 = split / "person_year/year=2025/part-0.parquet"
    t = pq.read_table(part0)
    pq.write_table(t.slice(0, 4), part0)
    pq.write_table(t.slice(4), part0.with_name("part-1.parquet"))
    whole, parts = profile_warehouse(wh), profile_warehouse(split)
    assert [f.value for f in parts.figures] == [f.value for f in whole.figures]
