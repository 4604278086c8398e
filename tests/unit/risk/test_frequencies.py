"""fk and Fk with sdcMicro's missing-value rule: sdcMicro's own published test cases, small
examples worked by hand, and testdata with missing values against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.unit.risk.helpers import (
    TESTDATA_KEYS,
    engine_fk,
    load_testdata,
    needs_sdcmicro,
    reference_fk,
)

NA = None
W8 = [18.0, 45.5, 39.0, 17.0, 92.0, 8.0, 123.5, 51]


def _frame(values: list, dim: tuple[int, int], weights: list[float]) -> pd.DataFrame:
    """An R array (filled column by column) as a DataFrame A, B, C, ... plus `weight`."""
    rows, cols = dim
    data = {
        chr(65 + j): pd.array([values[j * rows + i] for i in range(rows)], dtype="Int64")
        for j in range(cols)
    }
    return pd.DataFrame({**data, "weight": weights})


# sdcMicro tests/testthat/test_freqCalc.R: (data, dims, weights, expected fk, expected Fk)
SDCMICRO_FREQCALC = [
    pytest.param(
        [2, 3, 2, 2, 3, 3, 1, 2, 3, 3, 3, 3, 3, 3, 4, 3, 1, 3, 1, 2, 1, 1, 1, 1],
        (8, 3),
        W8,
        [3, 1, 3, 1, 2, 2, 1, 3],
        [108.0, 45.5, 108.0, 17.0, 100.0, 100.0, 123.5, 108.0],
        id="no-missing",
    ),
    pytest.param(
        [2, 3, 2, 2, 3, 3, 1, 2, 3, 3, 3, 3, 3, 3, 4, 3, 1, 3, NA, 2, 1, 1, NA, 1],
        (8, 3),
        W8,
        [3, 1, 4, 2, 2, 2, 1, 3],
        [108.0, 45.5, 125.0, 56.0, 100.0, 100.0, 123.5, 108.0],
        id="missing",
    ),
    pytest.param(
        [2, 3, NA, 2, 3, 3, 1, 2, 3, 3, NA, 3, 3, 3, 4, 3, NA, NA, NA, NA, NA, NA, NA, NA],
        (8, 3),
        W8,
        [4, 4, 8, 4, 4, 4, 2, 4],
        [125.0, 184.5, 394.0, 125.0, 184.5, 184.5, 162.5, 125.0],
        id="missing-column-and-all-missing-row",
    ),
    pytest.param(
        [2, 3, NA, 2, 1, NA, 1, 2],
        (8, 1),
        W8,
        [5, 3, 8, 5, 4, 8, 4, 5],
        [133.0, 92.5, 394.0, 133.0, 262.5, 394.0, 262.5, 133.0],
        id="one-key",
    ),
    pytest.param(
        [2, 3, NA, 2, 3, 3, 1, NA, 3, 3, NA, 3, 3, 2, 2, 3, NA, NA, 1, 2, NA, NA, 4, 4],
        (3, 8),
        [18.0, 45.5, 122],
        [1, 2, 2],
        [18.0, 167.5, 167.5],
        id="more-keys-than-rows",
    ),
]


@pytest.mark.parametrize(("values", "dim", "weights", "fk", "big_fk"), SDCMICRO_FREQCALC)
def test_sdcmicro_freqcalc_cases(values, dim, weights, fk, big_fk) -> None:
    df = _frame(values, dim, weights)
    keys = [c for c in df.columns if c != "weight"]
    got = engine_fk(df, keys, weight="weight")
    assert got["fk"].tolist() == fk
    assert got["Fk"].tolist() == pytest.approx(big_fk)
    unweighted = engine_fk(df, keys)
    assert unweighted["Fk"].tolist() == fk  # without weights Fk is the count


def test_hand_example_missing_value_matches_every_value() -> None:
    """Five records, keys (sex, region):
        1: (m, N)   2: (m, N)   3: (f, S)   4: (m, -)   5: (-, -)
    Record 4 (region missing) matches 1 and 2 (and itself): fk = 3; it is not compatible with
    3 (sex differs). Records 1 and 2: each other, themselves and 4 = 3; the all-missing record
    5 does not count for complete records (sdcMicro). Record 3: itself only = 1. Record 5: all
    five. Weights 10, 20, 30, 40, 50 give Fk: 1 and 2 -> 10+20+40 = 70, 3 -> 30, 4 -> 10+20+40
    +50 = 120 (5 counts for a record with a missing value), 5 -> 150."""
    df = pd.DataFrame(
        {
            "sex": ["m", "m", "f", "m", None],
            "region": ["N", "N", "S", None, None],
            "w": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    got = engine_fk(df, ["sex", "region"], weight="w")
    assert got["fk"].tolist() == [3, 3, 1, 4, 5]
    assert got["Fk"].tolist() == [70.0, 70.0, 30.0, 120.0, 150.0]


def test_hand_example_fk_is_record_count_of_the_combination() -> None:
    df = pd.DataFrame(
        {
            "a": [1, 1, 1, 2, 2, 3],
            "b": ["x", "x", "y", "y", "y", "y"],
            "w": [1.5, 2.5, 3.0, 4.0, 6.0, 9.0],
        }
    )
    got = engine_fk(df, ["a", "b"], weight="w")
    assert got["fk"].tolist() == [2, 2, 1, 2, 2, 1]
    assert got["Fk"].tolist() == [4.0, 4.0, 3.0, 10.0, 10.0, 9.0]


@pytest.mark.parametrize("seed", [1])
@needs_sdcmicro
def test_testdata_with_missing_values_matches_brute_force(seed: int) -> None:
    df = load_testdata()
    rng = np.random.default_rng(seed)
    keys = list(TESTDATA_KEYS)
    for key in keys:  # about 5% missing per key, some records entirely missing
        df[key] = df[key].astype("Int64")
        df.loc[rng.random(len(df)) < 0.05, key] = pd.NA
    df.loc[rng.choice(len(df), 3, replace=False), keys] = pd.NA
    fk, big_fk = reference_fk(df, keys, "sampling_weight")
    got = engine_fk(df, keys, weight="sampling_weight")
    np.testing.assert_array_equal(got["fk"].to_numpy(), fk)
    np.testing.assert_allclose(got["Fk"].to_numpy(), big_fk, rtol=1e-12)
