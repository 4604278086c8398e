"""Shared helpers of the risk tests: run the engine on a small DataFrame, and an independent
reference of sdcMicro's definitions written with plain numpy (pairwise, for small data only)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from kluis.risk.frequencies import frequencies
from kluis.risk.individual import add_risk
from kluis.risk.sql import same_keys

TESTDATA_KEYS = ("urbrur", "roof", "walls", "water", "electcon", "relat", "sex")


def _sdcmicro_dir() -> Path:
    """sdcMicro's test data sets (testdata, testdata2; GPL-2, from the R package sdcMicro). Their
    README asks that they not be committed, so the tests read them where the workplace keeps them
    (`../shared/data/sdcmicro` beside the checkout) or from $KLUIS_SDCMICRO_DATA."""
    env = os.environ.get("KLUIS_SDCMICRO_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[4] / "shared/data/sdcmicro"


DATA = _sdcmicro_dir()
needs_sdcmicro = pytest.mark.skipif(
    not (DATA / "testdata.csv").is_file() or not (DATA / "testdata2.csv").is_file(),
    reason=f"sdcMicro's test data sets are not at {DATA} (not committed, by their README; "
    "set KLUIS_SDCMICRO_DATA); the same measures are tested on hand-worked and synthetic data",
)


def load_testdata() -> pd.DataFrame:
    return pd.read_csv(DATA / "testdata.csv")


def survey_like(path: Path, rows: int = 4_580, seed: int = 11) -> Path:
    """A synthetic household survey with testdata's columns (keys with a few missing values,
    weights, households, a sensitive variable), for tests of the command itself."""
    rng = np.random.default_rng(seed)
    hid = np.sort(rng.integers(1, rows // 4, rows))
    frame = pd.DataFrame(
        {
            "urbrur": rng.choice([1, 2], rows, p=[0.3, 0.7]),
            "roof": rng.choice([1, 2, 3, 4, 5, 9], rows, p=[0.05, 0.3, 0.1, 0.5, 0.04, 0.01]),
            "walls": rng.choice([1, 2, 3], rows, p=[0.2, 0.3, 0.5]),
            "water": rng.choice(range(1, 9), rows),
            "electcon": rng.choice([0, 1, 2, 3], rows, p=[0.1, 0.7, 0.15, 0.05]),
            "relat": rng.choice(range(1, 10), rows, p=[0.25, 0.2, 0.35] + [0.2 / 6] * 6),
            "sex": rng.choice([1, 2], rows),
            "age": rng.integers(0, 90, rows),
            "hhcivil": rng.choice([1, 2, 3, 4], rows),
            "income": rng.lognormal(10, 1, rows).round(),
            "ori_hid": hid,
            "sampling_weight": rng.choice([25, 50, 100, 200], rows),
        }
    ).astype({"water": "float64", "relat": "float64"})
    frame.loc[rng.random(rows) < 0.01, "water"] = np.nan
    frame.loc[rng.random(rows) < 0.01, "relat"] = np.nan
    frame.to_csv(path, index=False)
    return path


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
