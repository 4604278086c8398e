"""The attacks of issue 14, each run as an attacker would: take every table kluis let leave,
write one LP over all of them (linked_attacker.py, independent of kluis) and look for small
groups of persons it can pin down. Each scenario first shows that the attack works on the
tables protected one by one, so the test cannot pass by accident."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kluis.disclosure.api import run
from kluis.disclosure.spec import TableSpec

from .linked_attacker import (
    Attacker,
    Query,
    Release,
    below_protection,
    pinned_small,
    plain,
    recoded,
)

REGION = {"1": "N", "2": "N", "3": "N", "4": "S", "5": "S", "6": "S"}
PROVINCES = list(REGION)
V = list("abcd")


SKEWED = ([0.3, 0.25, 0.05, 0.2, 0.12, 0.08], [0.45, 0.3, 0.15, 0.1])


def _micro(seed: int, n: int = 300, p=SKEWED) -> pd.DataFrame:
    """Persons with a province (in regions), a category v and a wage."""
    rng = np.random.default_rng(seed)
    prov = rng.choice(PROVINCES, n, p=p[0] if p else None)
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "province": prov,
            "region": [REGION[p] for p in prov],
            "v": rng.choice(V, n, p=p[1] if p else None),
            "wage": np.round(rng.lognormal(7.5, 0.6, n), 2),
        }
    )


def _spec(name: str, dims: list[str], **kw) -> TableSpec:
    return TableSpec(name=name, dimensions=[{"column": d} for d in dims], person_id="person", **kw)


def _released(pairs) -> list[Release]:
    """The releases that kluis said may leave."""
    return [rel for pt, rel in pairs if pt.ok]


def _release(pt, df: pd.DataFrame, dims) -> Release:
    return Release(pt.spec.name, set(df["person"]), dims, pt.frame())


def _attacker(df: pd.DataFrame, releases: list[Release]) -> Attacker:
    return Attacker(df, "person", {"province": PROVINCES, "v": V}, releases)


PROV_V = [plain("province", PROVINCES), plain("v", V)]
REGION_V = [recoded("region", "province", REGION), plain("v", V)]


def test_attack_1_recode_of_a_published_table(tmp_path):
    df = _micro(4)
    alone = [run(df, _spec("prov", ["province", "v"])), run(df, _spec("reg", ["region", "v"]))]
    both = [_release(alone[0], df, PROV_V), _release(alone[1], df, REGION_V)]
    assert not _attacker(df, both[:1]).disclosures(
        _attacker(df, both[:1]).hidden_cells(), below_protection(10)
    ), "the province table on its own is protected"
    att = _attacker(df, both)
    assert att.disclosures(att.hidden_cells(), below_protection(10)), "the attack works"

    first = run(df, _spec("prov", ["province", "v"]), history=tmp_path)
    second = run(df, _spec("reg", ["region", "v"]), history=tmp_path)
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, df, REGION_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []


def _with_small_group(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everybody (no cell below 10), and everybody but 15 persons."""
    df = _micro(seed, 2400, p=None)
    rng = np.random.default_rng(seed + 100)
    group = rng.choice(df["person"].to_numpy(), 15, replace=False)
    return df, df[~df["person"].isin(group)]


def test_attack_2_differencing_under_the_same_label(tmp_path):
    df, rest = _with_small_group(5)
    alone = [
        _release(run(df, _spec("all", ["province", "v"])), df, PROV_V),
        _release(run(rest, _spec("rest", ["province", "v"])), rest, PROV_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.differences(), pinned_small(10)), "the attack works"

    first = run(df, _spec("all", ["province", "v"]), history=tmp_path)
    second = run(rest, _spec("rest", ["province", "v"]), history=tmp_path)  # same label "all"
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, rest, PROV_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.differences() + att.hidden_cells(), pinned_small(10)) == []


def test_attack_2_differencing_through_a_recode(tmp_path):
    df, rest = _with_small_group(6)
    alone = [
        _release(run(df, _spec("all", ["province", "v"])), df, PROV_V),
        _release(run(rest, _spec("rest", ["region", "v"])), rest, REGION_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.differences(), pinned_small(10)), "the attack works"

    first = run(df, _spec("all", ["province", "v"]), history=tmp_path)
    second = run(rest, _spec("rest", ["region", "v"]), history=tmp_path)  # same label "all"
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, rest, REGION_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.differences() + att.hidden_cells(), pinned_small(10)) == []


def _mean_then_count(seed: int):
    """Four big cells each dominated by one high earner: the mean table hides them (and
    complements of its own), the count table does not."""
    df = _micro(seed, 400)
    for prov, v in (("1", "a"), ("2", "b"), ("4", "a"), ("1", "b")):
        first = df.index[(df["province"] == prov) & (df["v"] == v)][0]
        df.loc[first, "wage"] *= 1000
    mean = _spec("mean_wage", ["province", "v"], response="wage", statistic="mean")
    count = _spec("count", ["province", "v"])
    return df, mean, count


def test_attack_3_mean_table_before_count_table(tmp_path):
    df, mean, count = _mean_then_count(4)
    alone = [
        _release(run(df, mean), df, PROV_V),
        _release(run(df, count), df, PROV_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.hidden_cells(), below_protection(10)), "the attack works"
    for order in ((mean, count), (count, mean)):
        hist = tmp_path / order[0].name
        pts = [run(df, s, history=hist) for s in order]
        assert pts[0].ok
        released = _released([(pt, _release(pt, df, PROV_V)) for pt in pts])
        att = _attacker(df, released)
        assert att.disclosures(att.hidden_cells(), below_protection(10)) == [], order[0].name


def test_attack_4_order_statistic_table_protects_its_counts():
    df = _micro(2)
    # wages in classes of 500, the top class open: large cells share their maximum
    df["wage"] = np.minimum(np.round(df["wage"] / 500) * 500, 1500.0)
    pt = run(df, _spec("max_wage", ["province", "v"], response="wage", statistic="max"))
    released = _released([(pt, _release(pt, df, PROV_V))])
    att = _attacker(df, released)
    small = [q for q in att.hidden_cells() if 1 <= q.truth <= 9]
    assert small, "the table hides small cells"
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []


def test_attack_5_group_disclosure_is_not_given_away_by_zeros():
    df = _micro(3)
    df.loc[df["province"] == "3", "v"] = "a"  # everybody of province 3 has v = a
    df = pd.concat(  # enough persons that the cell is not small, only all of its group
        [
            df,
            pd.DataFrame(
                {
                    "person": 1000 + np.arange(12),
                    "province": "3",
                    "region": "N",
                    "v": "a",
                    "wage": 1000.0,
                }
            ),
        ],
        ignore_index=True,
    )
    pt = run(df, _spec("count", ["province", "v"]))
    st = pt.status_frame()
    row = st[(st["province"] == "3") & (st["v"] == "a")].iloc[0]
    assert row["status"] == "primary" and "group" in row["reason"]
    released = _released([(pt, _release(pt, df, PROV_V))])
    att = _attacker(df, released)
    eqs = att.equations()
    everybody = np.ones(len(att.pieces), dtype=bool)
    others = Query("province 3, v != a", everybody, {"province": {"3"}, "v": {"b", "c", "d"}}, 0)
    group = Query("province 3", everybody, {"province": {"3"}}, 0)
    low_group, _ = att.interval(group, eqs)
    _, high_others = att.interval(others, eqs)
    # the attacker must not be able to conclude that everybody of province 3 has v = a
    assert low_group < 1 - 1e-6 or high_others > 0.5
