"""Global recoding: only to coarser schemes of the catalogue, with the right class mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from kluis.deliberation import load
from kluis.risk.recode import RecodeError, coarser, parse, plan

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def d():
    return load(ROOT / "deliberations" / "26-104.yaml")


def test_age_classes_merge_into_ten_year_classes(d) -> None:
    r = coarser(d, "age")["age_10y"]
    mapping = dict(r.mapping)
    assert mapping["15-19"] == mapping["20-24"] == "15-24"
    assert mapping["55-59"] == mapping["60-64"] == "55-64"
    assert set(mapping) == {
        "15-19",
        "20-24",
        "25-29",
        "30-34",
        "35-39",
        "40-44",
        "45-49",
        "50-54",
        "55-59",
        "60-64",
    }


def test_codes_map_to_their_groups(d) -> None:
    assert dict(coarser(d, "province")["province_region"].mapping)["21000"] == "Brussels"
    eu = dict(coarser(d, "nationality")["country_eu"].mapping)
    assert eu["Neighbouring country"] == "Other EU" and eu["Belgium"] == "Belgium"
    assert set(coarser(d, "education_level")) == {"isced_broad", "isced_level_1d"}
    assert coarser(d, "incapacity_start")["year"].year_of_month


def test_never_finer_nor_sideways(d) -> None:
    assert "age_5y" not in coarser(d, "age")  # the deliberation's own scheme is no recode
    assert coarser(d, "sex") == {}
    assert coarser(d, "household_type") == {}
    with pytest.raises(RecodeError, match="not coarser than the deliberation's 'age_5y'"):
        plan(d, {"age": "children_classes"})
    with pytest.raises(RecodeError, match="not a scheme of the coarsening catalogue"):
        plan(d, {"age": "age_1y"})
    with pytest.raises(RecodeError, match="not a variable of deliberation 26/104"):
        plan(d, {"weight": "age_10y"})


def test_parse() -> None:
    assert parse("age=age_10y, province=province_region") == {
        "age": "age_10y",
        "province": "province_region",
    }
    with pytest.raises(RecodeError, match="expected VARIABLE=SCHEME"):
        parse("age")
    with pytest.raises(RecodeError, match="twice"):
        parse("age=age_10y,age=age_10y")
