"""Small cell risk analysis: kluis against ACRO on the same synthetic microdata.

For 1,000,000 and 7,500,000 job records (persons with one or two jobs, employers of very unequal
size): a crosstab a x b x c (15 x 30 x 10) with all its margins, and a mean-wage pivot a x b with
margins. Both tools publish the same content: ACRO by separate calls (the 3-D crosstab, its three
2-D crosstabs, the 2-D mean pivot and the two 1-D mean pivots, each checked on its own, the way a
researcher would ask for them); kluis as one linked table per statistic. Then one LP attacker (the
audit's LP, given each tool's published numbers only) counts the hidden cells it can recompute.

ACRO pins pandas <= 2.3.3 while kluis uses pandas 3, so ACRO runs from its own venv
(.venv-acro, made on first use) in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kluis.disclosure.attacker import attack
from kluis.disclosure.linear import Dimension, TableStructure
from kluis.disclosure.protect import protect
from kluis.disclosure.spec import TableSpec

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "disclosure"
ACRO_VENV = ROOT / ".venv-acro"
DIMS = {"a": 15, "b": 30, "c": 10}

_ACRO_SCRIPT = r"""
import json, sys, time, warnings, logging, io, contextlib
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import pandas as pd
from acro import ACRO
data, out, modes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
df = pd.read_parquet(data, columns=["a", "b", "c", "wage"])
times = {}
def q(f):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return f()
for mode in modes:
    acro = q(lambda: ACRO(suppress=(mode == "suppress")))
    t = time.perf_counter()
    tabs = {
        "abc": q(lambda: acro.crosstab(df.a, [df.b, df.c], margins=True)),
        "ab": q(lambda: acro.crosstab(df.a, df.b, margins=True)),
        "ac": q(lambda: acro.crosstab(df.a, df.c, margins=True)),
        "bc": q(lambda: acro.crosstab(df.b, df.c, margins=True)),
    }
    times[mode + "_crosstab"] = time.perf_counter() - t
    t = time.perf_counter()
    tabs["mean_ab"] = q(lambda: acro.pivot_table(df, index="a", columns="b", values="wage",
                                                 aggfunc="mean", margins=True))
    tabs["mean_a"] = q(lambda: acro.pivot_table(df, index="a", values="wage", aggfunc="mean",
                                                margins=True))
    tabs["mean_b"] = q(lambda: acro.pivot_table(df, index="b", values="wage", aggfunc="mean",
                                                margins=True))
    times[mode + "_pivot"] = time.perf_counter() - t
    if mode == "suppress":
        for k, v in tabs.items():
            v = v.copy()
            v.columns = ["|".join(map(str, c)) if isinstance(c, tuple) else str(c)
                         for c in v.columns]
            v.index = ["|".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in v.index]
            v.to_csv(f"{out}/acro_{k}.csv")
json.dump(times, open(f"{out}/acro_times.json", "w"))
"""


def make_data(n_rows: int, seed: int = 11) -> pd.DataFrame:
    """Job records: ~8% of persons have two jobs; skewed categories; a few dominant earners."""
    rng = np.random.default_rng(seed)
    n_persons = int(n_rows / 1.08)
    person = np.concatenate([np.arange(n_persons), rng.integers(0, n_persons, n_rows - n_persons)])
    pa = rng.choice(15, n_persons, p=_zipf(15, 1.5, rng))
    pb = rng.choice(30, n_persons, p=_zipf(30, 2.0, rng))
    c = rng.choice(10, n_rows, p=_zipf(10, 1.2, rng))
    employer = np.minimum(rng.pareto(1.2, n_rows) * 50, 250_000).astype(np.int64)
    wage = rng.lognormal(8.1, 0.45, n_rows)
    wage[rng.random(n_rows) < 2e-4] *= 200  # a few very high earners dominate small cells
    return pd.DataFrame(
        {
            "person": person,
            "employer": employer,
            "a": pa[person],
            "b": pb[person],
            "c": c,
            "wage": wage,
        }
    )


def _digest(data: pd.DataFrame) -> str:
    h = hashlib.sha1()
    for c in data.columns:
        h.update(c.encode())
        h.update(np.ascontiguousarray(data[c].to_numpy()).tobytes())
    return h.hexdigest()[:12]


def _zipf(n: int, s: float, rng) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    w = rng.permutation(w)
    return w / w.sum()


def _ensure_acro() -> Path:
    py = ACRO_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ACRO_VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "acro==1.0.2", "pyarrow"], check=True
        )
    return py


def _structure(names: list[str]) -> TableStructure:
    return TableStructure(
        tuple(Dimension(name=k, codes=tuple(str(i) for i in range(DIMS[k]))) for k in names)
    )


def _cell(ts: TableStructure, coords: dict[str, str]) -> int:
    idx = 0
    for k, d in enumerate(ts.dims):
        node = d.size - 1 if coords.get(d.name, "All") == "All" else d.codes.index(coords[d.name])
        idx += node * int(np.prod(ts.shape[k + 1 :]))
    return idx


def _parts(label, n: int) -> list[str]:
    p = str(label).split("|")
    return p + ["All"] * (n - len(p))


def _acro_facts(out: Path, ts: TableStructure, tables: dict[str, tuple[list, list]]):
    """Published numbers of ACRO tables as (cell -> value), and the hidden interior cells.

    ACRO recomputes margins after deleting the suppressed records, so a margin tells the truth
    only when nothing in its table was suppressed; interior cells are always true values.
    """
    facts, hidden_cells = {}, set()
    for name, (rows, cols) in tables.items():
        t = pd.read_csv(out / f"acro_{name}.csv", index_col=0, dtype=str, keep_default_na=False)
        t = t.replace("", np.nan).astype(float)
        any_hidden = bool(t.isna().to_numpy().any())
        for r, row in t.iterrows():
            coords = dict(zip(rows, _parts(r, len(rows)), strict=True))
            for ccol, v in row.items():
                c2 = dict(coords)
                if cols:
                    c2.update(zip(cols, _parts(ccol, len(cols)), strict=True))
                c2 = {k: ("All" if x in ("", "All") else x) for k, x in c2.items()}
                cell = _cell(ts, c2)
                interior = all(x != "All" for x in c2.values())
                if np.isnan(v):
                    if interior:
                        hidden_cells.add(cell)
                elif interior or not any_hidden:
                    facts[cell] = float(v)
    return facts, hidden_cells


def _recoverable(ts: TableStructure, truth: np.ndarray, known: np.ndarray, targets, tol_rel):
    iv = attack(ts.relations(), truth, ~known, 0.0)
    width = iv.high - iv.low
    rec = [c for c in targets if width[c] <= tol_rel * max(1.0, abs(truth[c]))]
    return rec, iv


def run_case(n_rows: int) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    data = make_data(n_rows)
    path = OUT / f"data_{n_rows}.parquet"
    data.to_parquet(path, index=False)
    digest = _digest(data)
    res: dict = {"rows": n_rows, "persons": int(data.person.nunique()), "data_sha1": digest}

    # --- kluis
    spec_c = TableSpec(
        dimensions=[{"column": k} for k in DIMS],
        person_id="person",
        employer_id="employer",
        name="abc",
    )
    spec_m = TableSpec(
        dimensions=[{"column": "a"}, {"column": "b"}],
        person_id="person",
        employer_id="employer",
        response="wage",
        statistic="mean",
        name="mean_ab",
    )
    t = time.perf_counter()
    pc = protect(data, spec_c)
    res["kluis_crosstab_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pm = protect(data, spec_m)
    res["kluis_pivot_s"] = time.perf_counter() - t
    res["kluis_seconds_detail"] = {"crosstab": pc.seconds, "pivot": pm.seconds}
    res["kluis_hidden"] = {"crosstab": int(pc.hidden.sum()), "pivot": int(pm.hidden.sum())}
    res["kluis_primary"] = {
        "crosstab": int(pc.primary.unsafe.sum()),
        "pivot": int(pm.primary.unsafe.sum()),
    }
    res["kluis_audit_ok"] = bool(pc.ok and pm.ok)
    del data

    # --- ACRO: its checks are timed on every run; its suppressed tables (needed only for the
    # attacker, not timed in the comparison) are cached per data set, because ACRO's suppression
    # drops records cell by cell and takes tens of minutes
    py = _ensure_acro()
    cache = OUT / f"acro-cache-{n_rows}-{digest}"
    names = ("abc", "ab", "ac", "bc", "mean_ab", "mean_a", "mean_b")
    cached = all((cache / f"acro_{k}.csv").exists() for k in names)
    # KLUIS_BENCH_ACRO_SUPPRESS=0: time ACRO's checks only, no attacker figures for ACRO
    skip = os.environ.get("KLUIS_BENCH_ACRO_SUPPRESS", "1") == "0" and not cached
    modes = "checks" if cached or skip else "checks,suppress"
    t = time.perf_counter()
    subprocess.run([str(py), "-c", _ACRO_SCRIPT, str(path), str(OUT), modes], check=True)
    res["acro_wall_s"] = time.perf_counter() - t
    res["acro"] = json.loads((OUT / "acro_times.json").read_text())
    if skip:
        res["acro_suppress"] = "not run (KLUIS_BENCH_ACRO_SUPPRESS=0): no ACRO attacker figures"
    elif cached:
        for k in names:
            shutil.copy(cache / f"acro_{k}.csv", OUT / f"acro_{k}.csv")
        old = json.loads((cache / "acro_times.json").read_text())
        res["acro"].update({k: v for k, v in old.items() if k.startswith("suppress")})
        res["acro_suppress_from_cache"] = str(cache)
    else:
        cache.mkdir(parents=True, exist_ok=True)
        for k in names:
            shutil.copy(OUT / f"acro_{k}.csv", cache / f"acro_{k}.csv")
        (cache / "acro_times.json").write_text(json.dumps(res["acro"]))

    # --- attacker on what each tool published: counts
    ts3 = _structure(["a", "b", "c"])
    truth = pc.systems[0].values  # kluis computed the true table; same layout as ts3
    res["kluis_crosstab_published_below_10_persons"] = int(
        (
            (~pc.hidden)
            & (pc.cells.stats["persons"].to_numpy() > 0)
            & (pc.cells.stats["persons"].to_numpy() < 10)
        ).sum()
    )
    t = time.perf_counter()
    rec_k, iv_k = _recoverable(ts3, truth, ~pc.hidden, np.flatnonzero(pc.hidden), 1e-9)
    res["kluis_crosstab_exact_attack_s"] = time.perf_counter() - t
    res["kluis_crosstab_recoverable"] = len(rec_k)
    res["kluis_crosstab_underprotected"] = int(pc.audit["count"].violated.sum())
    ts2 = _structure(["a", "b"])
    sums = pm.systems[1].values
    counts2 = pm.systems[0].values
    rec_mk, _ = _recoverable(ts2, sums, ~pm.hidden, np.flatnonzero(pm.hidden), 1e-9)
    res["kluis_pivot_recoverable"] = len(rec_mk)
    res["kluis_pivot_underprotected"] = int(sum(c.violated.sum() for c in pm.audit.values()))
    res["check_counts_additive"] = bool(np.abs(ts2.relations() @ counts2).max() < 1e-6)
    if not skip:
        res.update(_acro_attack(ts3, ts2, truth, sums))
    acro_checks = res["acro"]["checks_crosstab"] + res["acro"]["checks_pivot"]
    res["speedup_vs_acro_checks"] = acro_checks / (res["kluis_crosstab_s"] + res["kluis_pivot_s"])
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path.unlink()
    return res


def _acro_attack(ts3: TableStructure, ts2: TableStructure, truth, sums) -> dict:
    """The LP attacker on ACRO's published tables (counts, then the mean pivot's wage sums)."""
    res: dict = {}
    facts, acro_hidden = _acro_facts(
        OUT,
        ts3,
        {
            "abc": (["a"], ["b", "c"]),
            "ab": (["a"], ["b"]),
            "ac": (["a"], ["c"]),
            "bc": (["b"], ["c"]),
        },
    )
    known = np.zeros(ts3.n_cells, dtype=bool)
    known[list(facts)] = True
    small = [c for c, v in facts.items() if 0 < v < 10]
    res["acro_crosstab_published_below_10"] = len(small)
    rec, iv = _recoverable(ts3, truth, known, sorted(acro_hidden), 1e-9)
    need = np.maximum(10, 0.15 * truth)
    res["acro_crosstab_suppressed"] = len(acro_hidden)
    res["acro_crosstab_recoverable"] = len(rec)
    res["acro_crosstab_recoverable_nonzero"] = int(sum(truth[c] > 0 for c in rec))
    res["acro_crosstab_underprotected"] = int(
        sum((truth[c] > 0) and (iv.high[c] < truth[c] + need[c] - 1e-6) for c in acro_hidden)
    )
    count_known = (iv.high - iv.low) < 0.5  # counts the attacker knows exactly from ACRO

    # --- attacker: wage sums (mean x count) of the a x b pivot
    mfacts, mhidden = _acro_facts(
        OUT, ts2, {"mean_ab": (["a"], ["b"]), "mean_a": (["a"], []), "mean_b": (["b"], [])}
    )
    # a published mean gives the sum when the attacker knows the count of that cell
    map23 = {}
    for a in range(DIMS["a"] + 1):
        for b in range(DIMS["b"] + 1):
            map23[a * 31 + b] = (a * 31 + b) * 11 + 10  # cell (a,b,Total) of the 3-D table
    known2 = np.zeros(ts2.n_cells, dtype=bool)
    for cell in mfacts:
        known2[cell] = bool(count_known[map23[cell]])
    rec_m, _ = _recoverable(ts2, sums, known2, sorted(mhidden), 1e-9)
    rec_m = [c for c in rec_m if count_known[map23[c]] or c in mhidden]
    res["acro_pivot_suppressed"] = len(mhidden)
    res["acro_pivot_recoverable"] = len(rec_m)
    return res


def bench_4d(seed: int = 3) -> dict:
    """Secondary suppression of a 15 x 30 x 11 x 20 count table with all margins (124,992 cells).

    Cell counts are drawn directly (no microdata): a skewed table where about 1 cell in 6 has
    fewer than 10 persons, i.e. many more unsafe cells than a national table would have.
    """
    from kluis.disclosure.attacker import check_protection, witnessed
    from kluis.disclosure.suppress import System, suppress

    rng = np.random.default_rng(seed)
    shape = (15, 30, 11, 20)
    ts = TableStructure(
        tuple(Dimension(name=f"d{k}", codes=tuple(map(str, range(s)))) for k, s in enumerate(shape))
    )
    inner = rng.poisson(rng.gamma(0.7, 75.0, size=shape)).astype(float)
    full = np.zeros(ts.shape)
    full[: shape[0], : shape[1], : shape[2], : shape[3]] = inner
    for k in range(4):  # each pass fills the totals of one dimension, margins included
        sl = [slice(None)] * 4
        sl[k] = -1
        full[tuple(sl)] = np.take(full, range(shape[k]), axis=k).sum(axis=k)
    values = full.ravel()
    primary = (values > 0) & (values < 10)
    up = np.where(primary, np.maximum(10.0, 0.15 * values), 0.0)
    system = System("count", values, up, up.copy())
    t = time.perf_counter()
    res = suppress(ts, [system], primary)
    t_sup = time.perf_counter() - t
    t = time.perf_counter()
    m = ts.relations()
    w_up, w_dn = witnessed(m, values, res.hidden, 0.0, up, up, res.witnesses)
    chk = check_protection(
        m, values, res.hidden, up, up, exact=False, witnessed_up=w_up, witnessed_down=w_dn
    )
    t_audit = time.perf_counter() - t
    out = {
        "cells": ts.n_cells,
        "primary": int(primary.sum()),
        "hidden": int(res.hidden.sum()),
        "suppress_s": t_sup,
        "certifying_audit_s": t_audit,
        "audit_violations": int(chk.violated.sum()),
        "audit_lps": chk.intervals.n_lp,
        "method": res.method,
    }
    print(json.dumps({"4d": out}, indent=1))
    return out


HISTORY_TABLES = (
    # (population, dimensions, statistic): the earlier releases of one deliberation's history
    ("all", ("province", "sex"), "count"),
    ("all", ("region", "age"), "count"),
    ("all", ("province", "sep"), "count"),
    ("all", ("sex", "age", "sep"), "count"),
    ("jobseekers", ("province", "months"), "count"),
    ("jobseekers", ("region", "sex"), "mean"),
    ("women", ("province", "age"), "count"),
    ("young", ("region", "sep"), "count"),
    ("all", ("province", "sex"), "mean"),
    ("all", ("region", "sep"), "max"),
    ("flanders", ("province", "age", "sex"), "count"),
    ("jobseekers", ("age", "months"), "count"),
    ("women", ("region", "sep"), "mean"),
    ("young", ("province", "sex"), "count"),
    ("all", ("age", "sep"), "mean"),
    ("flanders", ("province", "sep"), "count"),
    ("jobseekers", ("province", "sex"), "max"),
    ("women", ("age", "sep"), "count"),
    ("all", ("region", "sex", "age"), "count"),
    ("young", ("sex", "sep"), "mean"),
)
# with country of birth (30 classes, a long tail): the small cells are there
HISTORY_TABLES = tuple(
    (pop, (*dims[:-1], "country") if i % 4 == 3 else dims, stat)
    for i, (pop, dims, stat) in enumerate(HISTORY_TABLES)
)
NEW_TABLE = ("young", ("province", "country", "sex"), "count")


def make_persons(n: int, seed: int = 21) -> pd.DataFrame:
    """One record per person: province (the code list's 11, in its 3 regions), sex, age class,
    socio-economic group, months of unemployment (job-seekers only) and a wage."""
    from kluis import codes

    prov = codes.load("province")
    region_of = prov.mapping("region")
    rng = np.random.default_rng(seed)
    p_prov = _zipf(len(prov.codes), 0.8, rng)
    province = np.array(prov.codes)[rng.choice(len(prov.codes), n, p=p_prov)]
    sep = rng.choice(list("123456"), n, p=[0.08, 0.5, 0.15, 0.12, 0.1, 0.05])
    months = np.where(sep == "1", rng.choice(["0-3", "3-6", "6-12", "12+"], n), None)
    return pd.DataFrame(
        {
            "person": rng.permutation(n).astype(np.int64) + 10_000_000,
            "province": province,
            "region": pd.Series(province).map(region_of).to_numpy(),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["15-24", "25-34", "35-44", "45-54", "55-64"], n),
            "sep": sep,
            "months": months,
            "country": np.array([f"C{i:02d}" for i in range(30)])[
                rng.choice(30, n, p=_zipf(30, 2.2, rng))
            ],
            "wage": np.round(rng.lognormal(7.8, 0.5, n), -1),
        }
    )


def _population(data: pd.DataFrame, name: str) -> pd.DataFrame:
    return {
        "all": lambda d: d,
        "jobseekers": lambda d: d[d["sep"] == "1"],
        "women": lambda d: d[d["sex"] == "F"],
        "young": lambda d: d[d["age"] == "15-24"],
        "flanders": lambda d: d[d["region"] == "Flanders"],
    }[name](data)


def _history_spec(i: int, dims, statistic: str, population: str) -> TableSpec:
    kw = {"response": "wage", "statistic": statistic} if statistic != "count" else {}
    return TableSpec(
        name=f"r{i:02d}_{population}_{'_'.join(dims)}_{statistic}",
        population=population,
        dimensions=[{"column": d} for d in dims],
        person_id="person",
        **kw,
    )


def bench_history(n_persons: int = 1_000_000, n_earlier: int = 20) -> dict:
    """The audit of a new table against a release history of `n_earlier` tables over the same
    persons (five populations, recodes, counts, means and maxima), each from n_persons records.

    Timed: `History.audit` (the linked LP over every earlier release sharing persons with the
    new one: persons, pieces, recodes, atoms, the LP and its certificates) and the whole
    protection against the history (audit, hide, re-protect, re-audit). Not timed: building
    the history (protecting and recording the earlier tables)."""
    from kluis.disclosure.against_history import protect_against_history
    from kluis.disclosure.api import checked_spec
    from kluis.disclosure.history import History
    from kluis.disclosure.record import write_record

    data = make_persons(n_persons)
    hist_dir = OUT / f"history-{n_persons}"
    shutil.rmtree(hist_dir, ignore_errors=True)
    hist = History(hist_dir)
    t = time.perf_counter()
    built = []
    for i, (population, dims, statistic) in enumerate(HISTORY_TABLES[:n_earlier]):
        spec, _ = checked_spec(_history_spec(i, dims, statistic, population))
        pt = protect(_population(data, population), spec)
        rec = write_record(pt, OUT / "record-tmp")
        hist.add_record(rec)
        shutil.rmtree(rec)
        built.append({"table": spec.name, "cells": int(pt.cells.n_cells), "ok": bool(pt.ok)})
    build_s = time.perf_counter() - t
    population, dims, statistic = NEW_TABLE
    spec, _ = checked_spec(_history_spec(n_earlier, dims, statistic, population))
    t = time.perf_counter()
    new = protect(_population(data, population), spec)
    protect_s = time.perf_counter() - t
    del data
    t = time.perf_counter()
    findings = hist.audit(new)
    audit_s = time.perf_counter() - t
    t = time.perf_counter()
    with hist.lock():
        repaired = protect_against_history(new, hist.audit)
    repair_s = time.perf_counter() - t
    out = {
        "persons": n_persons,
        "earlier_releases": n_earlier,
        "history_build_s": build_s,
        "new_table_protect_s": protect_s,
        "audit_s": audit_s,
        "protect_against_history_s": repair_s,
        "findings_first_audit": {
            k: sum(f["kind"] == k and f["severity"] == "error" for f in findings)
            for k in ("linked", "differencing")
        },
        "warnings_first_audit": sum(f["severity"] == "warning" for f in findings),
        "hidden_before_after": [int(new.hidden.sum()), int(repaired.hidden.sum())],
        "may_be_released": bool(repaired.ok),
        "earlier": built,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps({"history": out}, indent=1, default=float))
    return out


TIMED = (
    "kluis: protect() per statistic from the in-memory DataFrame to the audited result (cell "
    "statistics incl. distinct persons and per-person/per-employer dominance on every margin, "
    "primary rules, secondary suppression, the certifying attacker audit); speedup = ACRO "
    "checks (crosstab + pivot calls with suppress=False, data already loaded) / kluis "
    "(crosstab + pivot). Not timed: data generation, Parquet I/O, ACRO's suppress=True run "
    "(cached per data set), the exact attacker LPs used to count recoverable cells."
)


def main(sizes: tuple[int, ...] | None = None) -> dict:
    if sizes is None:
        env = os.environ.get("KLUIS_BENCH_DISCLOSURE_ROWS", "1000000,7500000")
        sizes = tuple(int(x) for x in env.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    out: dict = {"timed": TIMED, "load_before": os.getloadavg(), "4d": bench_4d()}
    n_hist = int(os.environ.get("KLUIS_BENCH_HISTORY_PERSONS", "1000000"))
    if n_hist:
        load = os.getloadavg()
        out["history"] = bench_history(n_hist)
        out["history"]["load_avg_before"] = load
        out["history"]["load_avg_after"] = os.getloadavg()
    for n in sizes:
        load = os.getloadavg()
        r = run_case(n)
        r["load_avg_before"] = load
        r["load_avg_after"] = os.getloadavg()
        out[n] = r
        print(json.dumps(r, indent=1, default=float))
        (OUT / "results.json").write_text(json.dumps(out, indent=1, default=float))
    return out


if __name__ == "__main__":
    main(tuple(int(x) for x in sys.argv[1:]) or None)
