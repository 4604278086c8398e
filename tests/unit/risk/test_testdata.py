"""The whole measure on sdcMicro's testdata (keys urbrur, roof, walls, water, electcon, relat,
sex; weight sampling_weight; households ori_hid) against sdcMicro's published definitions,
computed independently by brute force (helpers.reference_fk / reference_risk)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from kluis.risk.measure import measure
from kluis.risk.source import Study, build_records, open_table
from kluis.risk.sql import same_keys
from tests.unit.risk.helpers import (
    DATA,
    TESTDATA_KEYS,
    load_testdata,
    needs_sdcmicro,
    reference_fk,
    reference_risk,
)

pytestmark = needs_sdcmicro

STUDY = Study(keys=TESTDATA_KEYS, k=3, weight="sampling_weight", household="ori_hid")


@pytest.fixture(scope="module")
def measured():
    con = duckdb.connect()
    path = DATA / "testdata.csv"
    open_table(con, path, "src")
    build_records(con, path, "src", STUDY, "rec")
    m = measure(con, STUDY, "rec", estimate="weights")
    per_record = con.execute(
        f"""SELECT p.fk, p.fpop, p.risk FROM rec r JOIN {m.riskpat} p
            ON p.s = r.s AND {same_keys(7, "r", "p")} ORDER BY r.rowid"""
    ).df()
    return m, per_record


@pytest.fixture(scope="module")
def reference():
    df = load_testdata()
    fk, big_fk = reference_fk(df, TESTDATA_KEYS, "sampling_weight")
    return df, fk, big_fk, reference_risk(fk, big_fk)


def test_per_record_fk_fk_and_risk(measured, reference) -> None:
    _, per_record = measured
    _, fk, big_fk, risk = reference
    np.testing.assert_array_equal(per_record["fk"].to_numpy(), fk)
    np.testing.assert_allclose(per_record["fpop"].to_numpy(), big_fk)
    np.testing.assert_allclose(per_record["risk"].to_numpy(), risk, rtol=1e-12)


def test_summary_measures(measured, reference) -> None:
    m, _ = measured
    df, fk, _, risk = reference
    body = m.body
    assert body["records"] == len(df) == 4580
    assert body["key_patterns"] == len(df.drop_duplicates(list(TESTDATA_KEYS)))
    assert body["sample_uniques"] == int((fk == 1).sum())
    assert body["sample_pairs"] == int((fk == 2).sum())
    assert body["k_violations"] == {str(k): int((fk < k).sum()) for k in (2, 3, 5)}
    assert body["expected_reidentifications"] == pytest.approx(risk.sum(), rel=1e-12)
    assert body["global_risk"] == pytest.approx(risk.mean(), rel=1e-12)
    assert body["max_individual_risk"] == pytest.approx(risk.max())
    bands = body["records_by_individual_risk"]
    assert sum(bands.values()) == 4580
    assert bands["0.0-0.01"] == int((risk < 0.01).sum())


def test_household_risk(measured, reference) -> None:
    m, _ = measured
    df, _, _, risk = reference
    hh = pd.Series(1 - risk).groupby(df["ori_hid"].to_numpy()).transform("prod")
    assert m.body["household_expected_reidentifications"] == pytest.approx((1 - hh).sum(), rel=1e-9)


def test_key_contributions(measured, reference) -> None:
    m, _ = measured
    df, fk, _, _ = reference
    for key in TESTDATA_KEYS:  # no missing values: a plain group-by gives fk and Fk
        others = [k for k in TESTDATA_KEYS if k != key]
        groups = df.groupby(others)["sampling_weight"]
        fk_without = groups.transform("size").to_numpy()
        big_without = groups.transform("sum").to_numpy()
        got = m.body["key_contributions"][key]
        assert got["sample_uniques_without"] == int((fk_without == 1).sum())
        assert got["sample_uniques_due"] == int((fk == 1).sum() - (fk_without == 1).sum())
        assert got["expected_reidentifications_without"] == pytest.approx(
            reference_risk(fk_without, big_without).sum(), rel=1e-12
        )


def test_riskiest_combination_is_first(measured, reference) -> None:
    m, _ = measured
    df, fk, _, risk = reference
    top = m.top[0]
    assert top["risk"] == pytest.approx(risk.max())
    riskiest = df[np.isclose(risk, risk.max())]
    combos = {tuple(str(v) for v in row) for row in riskiest[list(TESTDATA_KEYS)].to_numpy()}
    assert tuple(top["values"][k] for k in TESTDATA_KEYS) in combos
    assert top["fk"] == fk[np.isclose(risk, risk.max())].min()
    # ordered by risk, never increasing
    assert all(a["risk"] >= b["risk"] for a, b in zip(m.top, m.top[1:], strict=False))
