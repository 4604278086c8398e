"""Shared helpers of the risk tests: run the engine on a small DataFrame, and an independent
reference of sdcMicro's definitions written with plain numpy (pairwise, for small data only)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from kluis.risk.frequencies import frequencies
from kluis.risk.individual import add_risk
from kluis.risk.sql import same_keys

DATA = Path(__file__).parent / "data"
TESTDATA_KEYS = ("urbrur", "roof", "walls", "water", "electcon", "relat", "sex")


def load_testdata() -> pd.DataFrame:
    return pd.read_csv(DATA / "testdata.csv")


def records_table(
    con: duckdb.DuckDBPyConnection,
    df: pd.DataFrame,
    keys,
    weight=None,
    stratum=None,
    name: str = "rec",
) -> None:
    """The engine's positional records table from a DataFrame (keys k0.., weights in
    millionths)."""
    frame = pd.DataFrame({f"k{i}": df[k] for i, k in enumerate(keys)})
    frame["s"] = df[stratum] if stratum else 0
    frame["w"] = (df[weight] * 1e6).round().astype("int64") if weight else 1_000_000
    con.register("frame", frame)
    ks = ", ".join(f"k{i}" for i in range(len(keys)))
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT s, {ks}, 1::BIGINT AS n, w FROM frame")
    con.unregister("frame")


def engine_fk(df: pd.DataFrame, keys, weight=None, estimate=None) -> pd.DataFrame:
    """Per record (in order): fk, Fk and individual risk from the engine."""
    con = duckdb.connect()
    records_table(con, df, keys, weight)
    frequencies(con, "rec", len(keys), "fr")
    add_risk(con, "fr", "rk", estimate or ("weights" if weight else "none"))
    out = con.execute(
        f"""SELECT p.fk, p.fpop, p.risk FROM rec r JOIN rk p ON p.s = r.s AND
            {same_keys(len(keys), "r", "p")} ORDER BY r.rowid"""
    ).df()
    return out.rename(columns={"fpop": "Fk"})


def reference_fk(df: pd.DataFrame, keys, weight=None) -> tuple[np.ndarray, np.ndarray]:
    """sdcMicro's freqCalc (alpha = 1) by brute force: two records are compatible when every
    key is equal or missing in one of them; all-missing records count n; with several keys,
    all-missing records are not counted for complete records."""
    values = df[list(keys)].to_numpy(dtype=float, na_value=np.nan)  # numeric keys only
    n, n_keys = values.shape
    na = np.isnan(values)
    compat = np.ones((n, n), bool)
    for j in range(n_keys):
        col = values[:, j]
        eq = col[:, None] == col[None, :]
        compat &= eq | na[:, j][:, None] | na[:, j][None, :]
    all_na = na.all(axis=1)
    complete = ~na.any(axis=1)
    if n_keys > 1:
        compat[np.ix_(complete, all_na)] = False
    compat[all_na, :] = True
    w = df[weight].to_numpy(float) if weight else np.ones(n)
    return compat.sum(axis=1), compat @ w


def reference_risk(fk: np.ndarray, big_fk: np.ndarray) -> np.ndarray:
    """sdcMicro indivRisk(method = 'approx'): by fk, then 1/fk where fk == Fk."""
    fk = fk.astype(float)
    pk = fk / big_fk
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = pk / (1 - pk)
        r = np.where(
            fk > 2,
            pk / (fk - (1 - pk)),
            np.where(
                fk == 2,
                odds - odds**2 * np.log(1 / pk),
                np.where(fk == 1, odds * np.log(1 / pk), 0.0),
            ),
        )
    return np.where(fk == big_fk, 1 / fk, r)
