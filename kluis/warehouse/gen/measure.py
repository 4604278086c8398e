"""Measure a generated warehouse against the calibration targets (one reference year).

Reads only the columns it needs. Used by the generator's tests and the benchmark; a profile
command can print `measure(dir, year)` next to `calibration.TARGETS`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kluis import codes
from kluis.warehouse.calibration import PROVINCE_SHARES
from kluis.warehouse.layout import table_path

_REGION = codes.load("province").mapping("region")
_BROAD = codes.load("isced_level").mapping("broad")


def _read(directory: Path, table: str, year: int | None, columns: list[str]) -> dict:
    t = pq.read_table(table_path(directory, table, year), columns=columns)
    return {c: t.column(c).to_numpy(zero_copy_only=False) for c in columns}


def measure(directory: Path | str, year: int) -> dict[str, float]:
    """Value of every calibration target (by name) in `year` of the warehouse at `directory`."""
    d = Path(directory)
    py = _read(d, "person_year", year, ["insz", "resident", "province", "sep_code",
                                         "education_level", "work_performance_type",
                                         "gross_daily_wage"])
    persons = _read(d, "persons", None, ["insz", "birth_date", "sex", "nationality",
                                         "waiting_register"])
    pos = np.searchsorted(persons["insz"], py["insz"])
    if not np.array_equal(persons["insz"][pos], py["insz"]):
        raise ValueError(f"{d}: person_year {year} has persons missing from persons")
    birth_year = persons["birth_date"].astype("datetime64[Y]").astype(np.int64)[pos] + 1970
    age = year - birth_year
    scope = py["resident"] & ~persons["waiting_register"][pos] & (age >= 15) & (age <= 64)
    n = int(scope.sum())
    sex = persons["sex"][pos][scope]
    prov = py["province"][scope].astype(str)
    region = np.array([_REGION[p] for p in np.unique(prov)])[np.unique(prov, return_inverse=True)[1]]
    sep = py["sep_code"][scope].astype(str)
    group = np.array([s[0] for s in np.unique(sep)])[np.unique(sep, return_inverse=True)[1]]
    work = group == "1"
    js = group == "2"
    nat = persons["nationality"][pos][scope]
    a = age[scope]
    m: dict[str, float] = {
        "residents_15_64": n,
        "share_female": float(np.mean(sex == "2")),
        "age_15_24": float(np.mean(a <= 24)),
        "age_25_49": float(np.mean((a >= 25) & (a <= 49))),
        "age_50_64": float(np.mean(a >= 50)),
        "employment_rate": float(work.mean()),
        "employment_rate_men": float(work[sex == "1"].mean()),
        "employment_rate_women": float(work[sex == "2"].mean()),
        "unemployment_rate": float(js.sum() / max(work.sum() + js.sum(), 1)),
        "non_belgian": float(np.mean(nat != "BE")),
        "non_belgian_brussels": float(np.mean(nat[region == "Brussels"] != "BE")),
        "long_term_sick": int((sep == "3.7").sum()),
    }
    for r in ("Flanders", "Wallonia", "Brussels"):
        sel = region == r
        m[f"region_{r.lower()}"] = float(sel.mean())
        m[f"employment_rate_{r.lower()}"] = float(work[sel].mean())
        m[f"unemployment_rate_{r.lower()}"] = float(js[sel].sum() / max((work | js)[sel].sum(), 1))
    for p in PROVINCE_SHARES:
        m[f"province_{p}"] = float(np.mean(prov == p))
    # wages of full-time employees
    ft = scope & (py["work_performance_type"] == "1")
    monthly = py["gross_daily_wage"][ft].astype(float) * 21.67
    m["wage_mean_ft"] = float(np.nanmean(monthly))
    m["wage_median_ft"] = float(np.nanmedian(monthly))
    levels = py["education_level"][ft].astype(str)
    broad = np.array([_BROAD[v] for v in np.unique(levels)])[np.unique(levels,
                                                                       return_inverse=True)[1]]
    m["wage_ratio_high_low"] = float(np.nanmedian(monthly[broad == "high"])
                                     / np.nanmedian(monthly[broad == "low"]))
    fsex = persons["sex"][pos][ft]
    m["wage_ratio_female_male"] = float(np.nanmedian(monthly[fsex == "2"])
                                        / np.nanmedian(monthly[fsex == "1"]))
    in_scope = py["insz"][scope]
    # employers
    emp = pq.read_table(table_path(d, "employments", year), columns=["rsz_number", "on_31_dec"])
    m["employers"] = len(pc.unique(emp.column("rsz_number")))
    dec = emp.filter(emp.column("on_31_dec")).column("rsz_number").to_numpy(zero_copy_only=False)
    _, size = np.unique(dec, return_counts=True)
    m["employers_under_5"] = float(np.mean(size < 5)) if size.size else 0.0
    m["employers_100_plus"] = float(np.mean(size >= 100)) if size.size else 0.0
    wf = _read(d, "welfare_support", year, ["insz", "level", "support_type"])
    sii = (wf["level"] == 1) & (wf["support_type"] == "1")
    m["social_integration_income"] = int(np.isin(wf["insz"][sii], in_scope).sum())
    da = _read(d, "disability_allowances", year, ["insz"])
    m["disability_allowance"] = int(np.isin(da["insz"], in_scope).sum())
    return m
