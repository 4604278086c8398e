"""Each primary rule on hand-made microdata, with expected statuses worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kluis.disclosure.protect import protect
from kluis.disclosure.spec import SpecError, TableSpec, parse_spec


def _status(pt, **coords):
    f = pt.status_frame()
    m = np.ones(len(f), dtype=bool)
    for k, v in coords.items():
        m &= (f[k] == v).to_numpy()
    assert m.sum() == 1
    return f[m].iloc[0]


def _people(region: str, n: int, start: int, jobs: int = 1, wage: float = 100.0, employer=None):
    rows = []
    for i in range(n):
        for j in range(jobs):
            rows.append(
                {
                    "person": start + i,
                    "region": region,
                    "sector": "A",
                    "employer": employer if employer is not None else start + i,
                    "wage": wage + i + j,
                }
            )
    return rows


def test_minimum_frequency_counts_distinct_persons_not_rows():
    # region x: 9 persons with 2 jobs each = 18 rows, still 9 persons -> unsafe
    df = pd.DataFrame(_people("x", 9, 0, jobs=2) + _people("y", 10, 100) + _people("z", 30, 200))
    spec = TableSpec(dimensions=[{"column": "region"}], person_id="person")
    pt = protect(df, spec)
    assert _status(pt, region="x")["status"] == "primary"
    assert "fewer than 10 persons" in _status(pt, region="x")["reason"]
    assert _status(pt, region="y")["status"] != "primary"  # 10 persons: may be a complement
    assert _status(pt, region="x")["count_protected"] == "yes"


def test_threshold_comes_from_the_spec():
    df = pd.DataFrame(_people("x", 6, 0) + _people("y", 40, 100) + _people("z", 40, 200))
    spec = TableSpec(
        dimensions=[{"column": "region"}], person_id="person", rules={"min_frequency": 5}
    )
    assert _status(protect(df, spec), region="x")["status"] != "primary"


def _magnitude(rows, **rules):
    spec = TableSpec(
        dimensions=[{"column": "region"}],
        person_id="person",
        employer_id="employer",
        response="wage",
        statistic="mean",
        rules={"group_disclosure": False, **rules},
    )
    return protect(pd.DataFrame(rows), spec)


def test_p_percent_rule_per_person():
    # x: one earner of 10,000 and 11 earners of 50: rest after top two = 500 < 10% of 10,000
    rows = [{"person": 0, "region": "x", "employer": 0, "wage": 10_000.0}]
    rows += [{"person": i, "region": "x", "employer": i, "wage": 50.0} for i in range(1, 12)]
    rows += [
        {"person": 100 + i, "region": "y", "employer": 100 + i, "wage": 100.0 + i}
        for i in range(20)
    ]
    rows += [
        {"person": 200 + i, "region": "z", "employer": 200 + i, "wage": 100.0 + i}
        for i in range(20)
    ]
    pt = _magnitude(rows, nk=None)
    assert _status(pt, region="x")["reason"].startswith("p% rule")
    assert _status(pt, region="y")["status"] == "safe"
    assert np.isnan(pt.frame().query("region == 'x'")["mean"].iloc[0])


def test_dominance_by_employer_when_no_person_dominates():
    # x: 12 persons, 10 of them at one employer earning 95% of the cell, all wages similar
    rows = [{"person": i, "region": "x", "employer": 7, "wage": 1000.0} for i in range(10)]
    rows += [{"person": 10 + i, "region": "x", "employer": 50 + i, "wage": 260.0} for i in range(2)]
    rows += [
        {"person": 100 + i, "region": "y", "employer": 100 + i, "wage": 100.0 + i}
        for i in range(20)
    ]
    rows += [
        {"person": 200 + i, "region": "z", "employer": 200 + i, "wage": 100.0 + i}
        for i in range(20)
    ]
    by_person = _magnitude(rows, dominance_by=["person"])
    assert _status(by_person, region="x")["status"] != "primary"
    by_employer = _magnitude(rows, dominance_by=["employer"])
    assert _status(by_employer, region="x")["reason"].endswith("by employer")


def test_group_disclosure_full_group_along_an_attribute():
    # region x: all 15 persons are in sector A -> 100% of the group
    rows = [{"person": i, "region": "x", "sector": "A"} for i in range(15)]
    rows += [{"person": 100 + i, "region": "y", "sector": "AB"[i % 2]} for i in range(40)]
    rows += [{"person": 200 + i, "region": "z", "sector": "AB"[i % 2]} for i in range(40)]
    spec = TableSpec(
        dimensions=[{"column": "region"}, {"column": "sector"}],
        person_id="person",
        rules={"attribute_dimensions": ["sector"]},
    )
    pt = protect(pd.DataFrame(rows), spec)
    assert _status(pt, region="x", sector="A")["reason"] == "100% of its group"
    assert _status(pt, region="y", sector="A")["status"] != "primary"


def test_maximum_is_unsafe_unless_shared_by_n_persons():
    rows = [{"person": i, "region": "x", "wage": 100.0 + i} for i in range(30)]
    rows += [
        {"person": 100 + i, "region": "y", "wage": 500.0 if i < 12 else 10.0} for i in range(30)
    ]
    spec = TableSpec(
        dimensions=[{"column": "region"}], person_id="person", response="wage", statistic="max"
    )
    pt = protect(pd.DataFrame(rows), spec)
    assert _status(pt, region="x")["status"] == "primary"
    assert _status(pt, region="y")["status"] == "safe"


def test_rounding_is_never_a_licence():
    df = pd.DataFrame(
        _people("x", 3, 0) + _people("y", 40, 100) + _people("z", 40, 200) + _people("w", 40, 300)
    )
    for method in ("round", "cellkey"):
        spec = TableSpec(dimensions=[{"column": "region"}], person_id="person", method=method)
        pt = protect(df, spec)
        f = pt.frame()
        assert np.isnan(f.loc[f.region == "x", "persons"].iloc[0])
        assert pt.ok
        shown = f.loc[f.region == "y", "persons"].iloc[0]
        assert abs(shown - 40) <= (5 if method == "round" else 2)


def test_spec_errors_name_the_line():
    text = "name: t\ndimensions:\n  - column: a\nperson_id: p\nrules:\n  min_frequency: -3\n"
    with pytest.raises(SpecError, match=r"spec.yaml:6: rules.min_frequency"):
        parse_spec(text, "spec.yaml")
    with pytest.raises(SpecError, match=r"spec.yaml:2: not valid YAML"):
        parse_spec("a: [1,\nb: }", "spec.yaml")


def test_unknown_code_names_row_and_column():
    from kluis.disclosure.source import DataError

    df = pd.DataFrame({"person": [1, 2, 3], "region": ["x", "q", "y"]})
    spec = TableSpec(dimensions=[{"column": "region", "codes": ["x", "y"]}], person_id="person")
    with pytest.raises(DataError, match=r"row 2: column region has value 'q'"):
        protect(df, spec)
