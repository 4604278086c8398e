"""Cell statistics (margins, hierarchy levels, per-person and per-employer top contributions)
against a plain pandas computation over every grouping."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from kluis.disclosure.cells import compute_cells
from kluis.disclosure.spec import TableSpec

GROUP = {"1": "N", "2": "N", "3": "S", "4": "S"}


def _data(two_jobs: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 300
    person = np.arange(n)
    if two_jobs:
        person = np.concatenate([person, rng.integers(0, n, 80)])
    region = rng.choice(list(GROUP), n)[person]
    sector = rng.choice(list("ABC"), person.size) if two_jobs else rng.choice(list("ABC"), n)
    return pd.DataFrame(
        {
            "person": person,
            "employer": rng.integers(0, 12, person.size),
            "region": region,
            "sector": sector,
            "wage": rng.integers(1, 5000, person.size).astype(float),
        }
    )


def _expected(df: pd.DataFrame) -> dict[tuple[str, str], dict]:
    df = df.assign(part=df.region.map(GROUP))
    out = {}
    for rlev, slev in itertools.product(["region", "part", None], ["sector", None]):
        keys = [k for k in (rlev, slev) if k]
        groups = df.groupby(keys) if keys else [((), df)]
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            coords = dict(zip(keys, key, strict=True))
            r = coords.get("region", coords.get("part", "Total"))
            s = coords.get("sector", "Total")
            per_person = np.sort(g.groupby("person").wage.sum().to_numpy())[::-1]
            per_emp = np.sort(g.groupby("employer").wage.sum().to_numpy())[::-1]
            out[(r, s)] = {
                "persons": g.person.nunique(),
                "total": g.wage.sum(),
                "top1_p": per_person[0],
                "top2_p": per_person[1] if per_person.size > 1 else 0.0,
                "top1_e": per_emp[0],
                "top2_e": per_emp[1] if per_emp.size > 1 else 0.0,
            }
    return out


@pytest.mark.parametrize("two_jobs", [False, True])
def test_cell_statistics_match_pandas_on_every_margin(two_jobs):
    df = _data(two_jobs, seed=3)
    spec = TableSpec(
        dimensions=[
            {"column": "region", "hierarchy": [{"level": "part", "map": GROUP}]},
            {"column": "sector"},
        ],
        person_id="person",
        employer_id="employer",
        response="wage",
        statistic="mean",
    )
    ct = compute_cells(df, spec)
    frame = pd.DataFrame(
        {
            "r": [ct.structure.dims[0].nodes[i][1] for i in ct.structure.coords()[:, 0]],
            "s": [ct.structure.dims[1].nodes[i][1] for i in ct.structure.coords()[:, 1]],
        }
    ).join(ct.stats)
    expected = _expected(df)
    assert len(expected) == len(frame[frame.persons > 0])
    for row in frame.itertuples():
        e = expected.get((row.r, row.s))
        if e is None:
            assert row.persons == 0
            continue
        for col, v in e.items():
            assert getattr(row, col) == pytest.approx(v), (row.r, row.s, col)
