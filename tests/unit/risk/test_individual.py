"""Individual risk as sdcMicro's indivRisk (approx) and household risk: sdcMicro's published
test values and examples worked by hand from the Benedetti-Franconi formulas."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from kluis.risk.frequencies import frequencies
from kluis.risk.individual import add_risk, household_expected
from kluis.risk.sql import same_keys
from tests.unit.risk.helpers import engine_fk

NA = None
W8 = [18.0, 45.5, 39.0, 17.0, 92.0, 8.0, 123.5, 51]


def _frame(values, weights=W8) -> pd.DataFrame:
    rows = len(weights)
    cols = {
        c: pd.array([values[j * rows + i] for i in range(rows)], dtype="Int64")
        for j, c in enumerate("ABC")
    }
    return pd.DataFrame({**cols, "weight": weights})


COMPLETE = [2, 3, 2, 2, 3, 3, 1, 2, 3, 3, 3, 3, 3, 3, 4, 3, 1, 3, 1, 2, 1, 1, 1, 1]
MISSING = [2, 3, 2, 2, 3, 3, 1, NA, 3, 3, 3, 3, 3, 3, 4, 3, 1, 3, NA, 2, 1, 1, NA, 1]


def test_sdcmicro_indivrisk_weighted_without_missing() -> None:
    """tests/testthat/test_indivRisk.R, method approx, qual 1, survey TRUE."""
    got = engine_fk(_frame(COMPLETE), list("ABC"), weight="weight")["risk"]
    assert got.tolist() == pytest.approx(
        [
            0.01369863,
            0.08579129,
            0.01369863,
            0.17707583,
            0.01877883,
            0.01877883,
            0.03931625,
            0.01369863,
        ],
        abs=5e-9,
    )


def test_sdcmicro_indivrisk_weighted_with_missing() -> None:
    got = engine_fk(_frame(MISSING), list("ABC"), weight="weight")["risk"]
    assert got.tolist() == pytest.approx(
        [
            0.013698630,
            0.085791288,
            0.010554090,
            0.032466112,
            0.009836066,
            0.009836066,
            0.039316254,
            0.005973716,
        ],
        abs=5e-10,
    )


def test_sdcmicro_indivrisk_without_weights_is_one_over_fk() -> None:
    got = engine_fk(_frame(MISSING), list("ABC"))["risk"]
    assert got.round(5).tolist() == [0.33333, 1.0, 0.25, 0.5, 0.33333, 0.33333, 1.0, 0.2]


def test_hand_computed_risks() -> None:
    """pk = fk / Fk = 0.25 throughout:
    fk = 1, Fk = 4:  (pk / (1 - pk)) ln(1/pk) = (1/3) ln 4 = 0.4620981
    fk = 2, Fk = 8:  1/3 - (1/3)^2 ln 4 = 0.1793006
    fk = 3, Fk = 12: pk / (fk - (1 - pk)) = 0.25 / 2.25 = 0.1111111
    fk = Fk = 2: the whole population is in the sample: 1 / fk = 0.5."""
    df = pd.DataFrame(
        {
            "g": ["a", "b", "b", "c", "c", "c", "d", "d"],
            "w": [4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 1.0, 1.0],
        }
    )
    risk = engine_fk(df, ["g"], weight="w")["risk"].tolist()
    assert risk == pytest.approx(
        [
            0.46209812037,
            0.17930062654,
            0.17930062654,
            0.11111111111,
            0.11111111111,
            0.11111111111,
            0.5,
            0.5,
        ],
        abs=1e-10,
    )


def test_household_risk_is_one_minus_product_over_members() -> None:
    """Household 1 holds the fk=1 record (r = 0.4620981) and one fk=3 record (r = 0.1111111):
    each member's household risk is 1 - (1 - 0.4620981)(1 - 0.1111111) = 0.5218650; household
    2 holds the two other fk=3 records: 1 - (1 - 0.1111111)^2 = 0.2098765. Expected
    re-identifications with households: 2 x 0.5218650 + 2 x 0.2098765 = 1.4634830."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE rec AS SELECT * FROM (VALUES
           (0, 'a', 1, 4000000, 1), (0, 'c', 1, 4000000, 1),
           (0, 'c', 1, 4000000, 2), (0, 'c', 1, 4000000, 2)) t(s, k0, n, w, hid)"""
    )
    frequencies(con, "rec", 1, "fr")
    add_risk(con, "fr", "rk", "weights")
    con.execute(
        f"""CREATE TABLE rr AS SELECT r.rowid AS rid, r.s, r.hid, p.risk FROM rec r
            JOIN rk p ON p.s = r.s AND {same_keys(1, "r", "p")}"""
    )
    # fk of 'c' is 3 with Fk 12; fk of 'a' is 1 with Fk 4 (weights 4 each)
    assert household_expected(con, "rr")[0] == pytest.approx(
        2 * 0.5218649958873749 + 2 * (1 - (1 - 1 / 9) ** 2), abs=1e-12
    )
