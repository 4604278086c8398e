"""Every coarsening scheme of the catalogue is implemented and behaves on hand-made values."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.codes import load as load_codes
from kluis.deliberation.coarsening import CATALOGUE
from kluis.deliberation.sources import DERIVED
from kluis.engine import connect
from kluis.extract.derive import DERIVATIONS, INPUTS, derive
from kluis.extract.recode import RecodeError, cut_positions, decile_cuts, describe, recode
from tests.spec.recode_cases import CASES, run_case


@pytest.fixture(scope="module")
def duck():
    eng = connect("duckdb")
    yield eng
    eng.close()


def test_every_catalogue_scheme_has_a_hand_made_case() -> None:
    assert set(CATALOGUE) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scheme_behaves_on_hand_made_values(duck, name: str) -> None:
    expected = CASES[name][3]
    assert run_case(duck, name) == expected


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_scheme_describes_each_type_it_accepts(name: str) -> None:
    scheme = CATALOGUE[name]
    for source_type in scheme.accepts:
        codes = CASES[name][1] if source_type == "string" else None
        kind, categories = describe(scheme, source_type, codes)
        if scheme.kind in ("classes", "deciles"):
            assert kind == "category" and len(categories) == len(scheme.labels)
        if scheme.kind == "map":
            groups = set(load_codes(scheme.codes).mapping(scheme.group_column).values())
            assert {v for v, _ in categories} == groups


def test_country_eu_puts_every_country_of_the_code_list_in_its_stated_class(duck) -> None:
    """The scheme says Belgium / other EU / non-EU: Belgium is its own class (not "EU"), every
    other EU member (country.csv `eu`) is other EU, the rest non-EU; the codebook's categories
    are exactly these three, in this order."""
    scheme = CATALOGUE["country_eu"]
    assert "Belgium / other EU / non-EU" in scheme.description
    countries = load_codes("country")
    member = countries.mapping("eu")
    expected = [
        "Belgium" if c == "BE" else "Other EU" if member[c] == "EU" else "non-EU"
        for c in countries.codes
    ]
    kind, categories = describe(scheme, "string", "country")
    assert (kind, categories) == (
        "category",
        (("Belgium", "Belgium"), ("Other EU", "Other EU"), ("non-EU", "non-EU")),
    )
    t = duck.register(pa.table({"i": range(len(countries.codes)), "v": list(countries.codes)}))
    got = duck.to_arrow(t.select("i", c=recode(t.v, scheme, source_type="string")).order_by("i"))
    assert got.column("c").to_pylist() == expected
    assert expected.count("Belgium") == 1 and expected.count("Other EU") == 26


def test_classes_boundaries_follow_the_catalogue_for_every_classes_scheme(duck) -> None:
    """Generic: each break opens its own class, just below the next break stays in it,
    below the first break is missing, and `upper` closes the last class."""
    for scheme in (s for s in CATALOGUE.values() if s.kind == "classes"):
        values, expected = [], []
        for i, lo in enumerate(scheme.breaks):
            values.append(float(lo))
            expected.append(scheme.labels[i])
            if i + 1 < len(scheme.breaks):
                values.append(float(scheme.breaks[i + 1]) - 1e-6)
                expected.append(scheme.labels[i])
        values.append(float(scheme.breaks[0]) - 1)
        expected.append(None)
        if scheme.upper is not None:
            values += [float(scheme.upper), float(scheme.upper) + 1]
            expected += [scheme.labels[-1], None]
        t = duck.register(pa.table({"v": pa.array(values, pa.float64())}))
        got = duck.to_arrow(
            t.select(
                c=recode(t.v, scheme, source_type="float64")
                if "float64" in scheme.accepts
                else recode(t.v, scheme, source_type=scheme.accepts[0])
            )
        )
        labels = [None if c is None else scheme.labels[c - 1] for c in got.column("c").to_pylist()]
        assert labels == expected, scheme.name


def test_scheme_refuses_types_it_does_not_accept() -> None:
    with pytest.raises(RecodeError):
        describe(CATALOGUE["year_month"], "string")
    with pytest.raises(RecodeError):
        recode(ibis.literal(1.5), CATALOGUE["age_5y"], source_type="float64")


def test_deciles_need_cut_points_and_are_empty_without_a_year() -> None:
    with pytest.raises(RecodeError, match="cut points"):
        recode(
            ibis.literal(1.0),
            CATALOGUE["daily_wage_deciles"],
            source_type="float64",
            cuts=(1.0, 2.0),
        )
    expr = recode(ibis.literal(1.0), CATALOGUE["daily_wage_deciles"], source_type="float64")
    assert ibis.to_sql(expr.name("x").as_table()).count("NULL") >= 1


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (10, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
        (100, [10, 20, 30, 40, 50, 60, 70, 80, 90]),
        (15, [2, 3, 5, 6, 8, 9, 11, 12, 14]),
        (1, [1] * 9),
    ],
)
def test_cut_positions(n: int, expected: list[int]) -> None:
    assert cut_positions(n, 10) == expected


def test_decile_cuts_are_exact_ranks(duck) -> None:
    values = pa.array([float(v) for v in range(100, 0, -1)] + [None] * 7, pa.float64())
    t = duck.register(pa.table({"w": values}))
    assert decile_cuts(duck, t.w) == tuple(float(v) for v in range(10, 100, 10))
    empty = duck.register(pa.table({"w": pa.array([None, None], pa.float64())}))
    assert decile_cuts(duck, empty.w) is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=10, max_size=200))
def test_deciles_with_ties_put_each_value_in_one_decile_and_roughly_a_tenth_in_each(values):
    """Every decile boundary is a population value; equal values share a decile; each decile
    holds at most its share plus the ties at its boundary."""
    eng = connect("duckdb")
    try:
        t = eng.register(pa.table({"w": pa.array([float(v) for v in values])}))
        cuts = decile_cuts(eng, t.w)
        s = sorted(values)
        assert cuts == tuple(float(s[p - 1]) for p in cut_positions(len(s), 10))
        got = eng.to_arrow(
            t.select(
                "w",
                d=recode(t.w, CATALOGUE["daily_wage_deciles"], source_type="float64", cuts=cuts),
            )
        )
        by_value: dict[float, set[int]] = {}
        for w, d in zip(got.column("w").to_pylist(), got.column("d").to_pylist(), strict=True):
            by_value.setdefault(w, set()).add(d)
        assert all(len(ds) == 1 for ds in by_value.values())
        # monotone: a larger value never gets a lower decile
        ordered = [next(iter(by_value[w])) for w in sorted(by_value)]
        assert ordered == sorted(ordered)
    finally:
        eng.close()


def test_every_derived_source_has_an_implementation() -> None:
    assert set(DERIVED) == set(DERIVATIONS) == set(INPUTS)
    with pytest.raises(KeyError, match="no implementation"):
        derive("unknown", ibis.table({"birth_date": "date"}), 2024)


def test_derived_values_on_hand_made_persons(duck) -> None:
    d = dt.date
    persons = pa.table(
        {
            "birth_date": pa.array([d(2000, 12, 31), d(2000, 1, 1), d(1960, 6, 1)], pa.date32()),
            "death_date": pa.array([None, d(2025, 3, 1), d(2024, 12, 31)], pa.date32()),
        }
    )
    t = duck.register(persons)
    got = duck.to_arrow(
        t.select(
            age=derive("age", t, 2024),
            dec24=derive("deceased", t, 2024),
            dec25=derive("deceased", t, 2025),
            by=derive("birth_year", t, 2024),
        )
    )
    assert got.column("age").to_pylist() == [24, 24, 64]
    assert got.column("dec24").to_pylist() == [False, False, True]
    assert got.column("dec25").to_pylist() == [False, True, False]
    assert got.column("by").to_pylist() == [2000, 2000, 1960]
