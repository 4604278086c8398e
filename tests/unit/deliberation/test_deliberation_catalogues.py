"""The coarsening catalogue and the source resolver agree with the schema and the code lists."""

from __future__ import annotations

import pytest

from kluis.codes import load as load_codes
from kluis.deliberation import CATALOGUE, DERIVED, UnknownSource, resolve, scheme
from kluis.deliberation.coarsening import Scheme
from kluis.schema import TABLES

REQUIRED = [
    "none",
    "age_5y",
    "country_group",
    "children_classes",
    "months_classes",
    "daily_wage_classes",
    "daily_wage_deciles",
    "fte_classes",
    "work_intensity_classes",
    "year_month",
    "annual_wage_classes",
    "fte_mean_classes",
    "mean_age_classes",
    "registration_year",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_schemes_exist(name):
    assert scheme(name).name == name


def test_unknown_scheme_lists_the_known():
    with pytest.raises(KeyError, match="age_5y"):
        scheme("age_7y")


@pytest.mark.parametrize(
    "s", [s for s in CATALOGUE.values() if s.kind == "classes"], ids=lambda s: s.name
)
def test_classes_are_well_formed(s):
    assert len(s.breaks) == len(s.labels) == len(set(s.labels))
    assert list(s.breaks) == sorted(set(s.breaks))


def test_age_classes_cover_15_to_64_in_fives():
    s = scheme("age_5y")
    assert s.labels[0] == "15-19" and s.labels[-1] == "60-64" and len(s.labels) == 10
    assert s.breaks[0] == 15 and s.upper == 64


def test_work_intensity_uses_the_eurostat_bands():
    s = scheme("work_intensity_classes")
    assert s.breaks == (0, 0.2, 0.45, 0.55, 0.85) and s.upper == 1.0


def test_months_and_children_classes():
    assert scheme("months_classes").labels == ("0", "1-3", "4-6", "7-12", "13-24", "25-60", "61+")
    assert scheme("children_classes").labels == ("0", "1", "2", "3+")


def test_deciles_label_ten_groups():
    s = scheme("daily_wage_deciles")
    assert s.quantiles == 10 and list(s.value_labels()) == list(range(1, 11))


@pytest.mark.parametrize(
    "s", [s for s in CATALOGUE.values() if s.kind == "map"], ids=lambda s: s.name
)
def test_map_schemes_use_existing_grouping_columns(s):
    groups = load_codes(s.codes).mapping(s.group_column)
    assert groups and set(s.value_labels()) == set(groups.values())


def test_schemes_are_validated_when_declared():
    with pytest.raises(ValueError, match="strictly"):
        Scheme("bad", "", "classes", ("int16",), breaks=(5, 1), labels=("a", "b"))
    with pytest.raises(ValueError, match="one label per"):
        Scheme("bad", "", "classes", ("int16",), breaks=(1, 5), labels=("a",))


def test_identity_never_accepts_amounts_or_dates():
    assert not scheme("none").accepts_type("float64")
    assert not scheme("none").accepts_type("date")


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_every_schema_column_resolves(t):
    for c in t.columns:
        r = resolve(f"{t.name}.{c.name}")
        assert (r.kind, r.table, r.column, r.type) == ("column", t.name, c.name, c.type)
        assert (r.identifier is not None) == (
            c.identifier is not None or f"{t.name}.{c.name}" == "person_year.household_id"
        )


def test_multi_row_tables_need_where():
    assert resolve("ss_spells.medical_code").extra_keys("person") == ("kind",)
    assert resolve("welfare_support.support_type").extra_keys("person") == ("level",)
    assert resolve("person_year.province").extra_keys("person") == ()
    assert resolve("employments.fte").extra_keys("employer") == ()


def test_derived_pseudonym_input():
    assert resolve("derived.age").type == "int16"
    assert resolve("derived.deceased").units == ("person",)
    assert set(DERIVED) >= {"age", "deceased"}
    assert resolve("pseudonym.person").units == ("person",)
    assert resolve("pseudonym.employer").units == ("employer",)
    assert resolve("input.group").kind == "input"
    for bad in ["derived.wealth", "pseudonym.household", "input.kbo_number", "nowhere.x", "x"]:
        with pytest.raises(UnknownSource):
            resolve(bad)
