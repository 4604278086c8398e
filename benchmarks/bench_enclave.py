"""Benchmark: the 26/104 example project in the enclave, beside the same work done plainly.

The enclave run is `kluis enclave run examples/26-104-labour-reserve` on the full 26/104
extract: the Python file in the sandbox, then the trusted recompute and the disclosure checks of
its 4 outputs, the 3 SQL queries, and PSPP in the sandbox on DuckDB-written CSV. The anchor is
what a researcher would run without kluis, outside any sandbox: the same tables as hand-written
DuckDB `GROUP BY CUBE` queries (margins included, as kluis publishes them), the same OLS with
statsmodels on a frame DuckDB fetched, and PSPP on a DuckDB CSV. Target (issue 10): the sandbox
and the checks add less than 50%. A second, stricter anchor: the same plain run with the model
fitted as the enclave fits it (categoricals handed to patsy as they are, so it reads their codes
at once instead of every value), timed in the same child and taken out of its wall time. Both
run as child processes; wall time, and peak memory as the largest sum of resident sets of the
process tree (sampled every 0.2 s).

Extract: $KLUIS_BENCH_ENCLAVE_EXTRACT (a full 26/104 extract), else bench-out/enclave/extract,
made once from the national warehouse ($KLUIS_BENCH_PANELS_WH, else /work/bench-wh, else
generated into bench-out/enclave/wh at $KLUIS_BENCH_ENCLAVE_PERSONS, default 7,500,000, years
2019-2026).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-out" / "enclave"
EXAMPLE = REPO / "examples" / "26-104-labour-reserve"
TODAY = "2026-11-22"
YEAR = 2025

# the example's outputs as plain DuckDB (margins by CUBE, as the enclave publishes them)
_SEP = "substr(sep_code, 1, 1)"
PLAIN_QUERIES = {
    "reserve_province_sex_sep": f"""SELECT province, sex, {_SEP} AS g, count(*) FROM t
        WHERE year = {YEAR} AND {_SEP} IN ('2', '3') GROUP BY CUBE (province, sex, g)""",
    "transitions_t_t1": f"""SELECT {_SEP} AS g, coalesce(substr(sep_code_next, 1, 1), '0') AS n,
        count(*) FROM t WHERE year = {YEAR} GROUP BY CUBE (g, n)""",
    "wage_decile_province_sex": f"""SELECT province, sex, count(*),
        avg(CAST(substr(daily_wage_decile, 2) AS BIGINT)) FROM t
        WHERE year = {YEAR} AND daily_wage_decile IS NOT NULL GROUP BY CUBE (province, sex)""",
    "sep_group_by_province": f"""SELECT province, {_SEP} AS g, count(*) FROM t
        WHERE year = {YEAR} GROUP BY CUBE (province, g)""",
    "transitions_sql": f"""SELECT {_SEP} AS g, coalesce(substr(sep_code_next, 1, 1), '0') AS n,
        count(DISTINCT person_id) FROM t WHERE year = {YEAR} GROUP BY CUBE (g, n)""",
    "wage_decile_by_sex": f"""SELECT sex, count(*),
        avg(CAST(substr(daily_wage_decile, 2) AS INTEGER)) FROM t
        WHERE year = {YEAR} AND daily_wage_decile IS NOT NULL GROUP BY CUBE (sex)""",
}
OLS_FRAME = f"""SELECT CAST(substr(daily_wage_decile, 2) AS BIGINT) AS wage_decile, sex, age,
    substr(education_level, 1, 1) AS education FROM t
    WHERE year = {YEAR} AND daily_wage_decile IS NOT NULL"""
OLS_FORMULA = "wage_decile ~ C(sex) + C(age) + C(education)"
PSPP_CSV = f"SELECT province, sex, sep_code, age FROM t WHERE year = {YEAR}"
PSPP_JOB = """GET DATA /TYPE=TXT /FILE='{csv}' /ENCODING='UTF-8' /ARRANGEMENT=DELIMITED
  /DELCASE=LINE /FIRSTCASE=2 /DELIMITERS="," /QUALIFIER='"'
  /VARIABLES= province A5 sex A1 sep_code A8 age A5.
FREQUENCIES /VARIABLES=province sex.
CROSSTABS /TABLES=province BY sex.
"""


def plain(extract: Path, work: Path) -> dict[str, float]:
    """The example's work without kluis (run in a child process by `main`)."""
    import duckdb
    import statsmodels.formula.api as smf

    seconds: dict[str, float] = {}
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 2")
    glob = (extract / "table1_next" / "year=*" / "*.parquet").as_posix()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{glob}', hive_partitioning=false)")
    for name, sql in PLAIN_QUERIES.items():
        start = time.perf_counter()
        con.execute(sql).fetchall()
        seconds[name] = time.perf_counter() - start
    start = time.perf_counter()
    frame = con.execute(OLS_FRAME).df()
    smf.ols(OLS_FORMULA, frame).fit()
    seconds["wage_regression"] = time.perf_counter() - start
    del frame
    # the same model fitted the enclave's way (regression.fit): categoricals handed to patsy
    # as they are, so it reads their codes; timed apart, taken out of the wall time by `main`
    start = time.perf_counter()
    frame = con.execute(OLS_FRAME).df()
    frame = frame.astype({c: "category" for c in ("sex", "age", "education")})
    smf.ols(OLS_FORMULA, frame, eval_env={"C": lambda column: column}).fit()
    seconds["wage_regression_categorical"] = time.perf_counter() - start
    del frame
    start = time.perf_counter()
    csv = work / "plain.csv"
    con.execute(f"COPY ({PSPP_CSV}) TO '{csv}' (HEADER, DELIMITER ',')")
    job = work / "plain.sps"
    job.write_text(PSPP_JOB.format(csv=csv))
    subprocess.run(["pspp", "-o", str(work / "plain-out.csv"), str(job)], check=True,
                   capture_output=True)  # fmt: skip
    seconds["frequencies_pspp"] = time.perf_counter() - start
    return seconds


def _tree_rss(root: int) -> int:
    from benchmarks.bench_extract_panels import _tree_rss as tree_rss

    return tree_rss(root)


def _measure(args: list[str], env: dict[str, str]) -> dict:
    """Run a child; wall time, peak resident memory of its process tree, its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO)  # fmt: skip
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    done.set()
    sampler.join()
    return {
        "exit_code": proc.returncode,
        "wall_s": round(time.perf_counter() - start, 2),
        "peak_rss_gb": round(peak / 2**30, 2),
        "output": output,
    }


def _extract() -> Path:
    env = os.environ.get("KLUIS_BENCH_ENCLAVE_EXTRACT")
    if env:
        return Path(env)
    target = OUT / "extract"
    if (target / "manifest.json").is_file():
        return target
    from kluis.extract.run import run_extract
    from kluis.pseudonym import KeyStore

    wh = os.environ.get("KLUIS_BENCH_PANELS_WH")
    warehouse = Path(wh) if wh else Path("/work/bench-wh")
    if not (warehouse / "warehouse.json").is_file():
        from kluis.warehouse.generate import generate_warehouse

        persons = int(os.environ.get("KLUIS_BENCH_ENCLAVE_PERSONS", "7500000"))
        warehouse = OUT / f"wh-{persons}"
        if not (warehouse / "warehouse.json").is_file():
            print(f"generating a warehouse of {persons:,} persons, 2019-2026 ...", flush=True)
            generate_warehouse(warehouse, persons=persons, years=(2019, 2026), seed=2026)
    keys = OUT / "keys"
    if not KeyStore(keys).exists("26/104"):
        KeyStore(keys).create("26/104")
    print(f"extracting 26/104 (full) from {warehouse} ...", flush=True)
    run_extract(REPO / "deliberations" / "26-104.yaml", warehouse, "full", target,
                keystore=keys, today=dt.date.fromisoformat(TODAY),
                deliberations=_home() / "deliberations")  # fmt: skip
    return target


def _home() -> Path:
    """bench-out/enclave/home: a KLUIS_HOME whose steward is this account, with the shipped
    deliberations registered."""
    from kluis.access import Users, current_account

    home = OUT / "home"
    home.mkdir(parents=True, exist_ok=True)
    registry = home / "deliberations"
    registry.mkdir(exist_ok=True)
    for file in sorted((REPO / "deliberations").glob("*.yaml")):
        shutil.copyfile(file, registry / file.name)
    users = Users(home / "users.yaml")
    if users.by_account(current_account()) is None:
        users.add("bench-steward", "steward", password="bench", account=current_account())
    return home


def _parts(text: str) -> dict[str, float]:
    """'query 1.20, protect 3.40' -> {'query': 1.2, 'protect': 3.4}"""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.rpartition(" ")
        out[name] = float(value)
    return out


def main() -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    extract = _extract()
    rows = json.loads((extract / "manifest.json").read_text())["rows"]["table1_next"]
    env = dict(os.environ, KLUIS_HOME=str(_home()))
    for name in ("KLUIS_AUDIT_LOG", "KLUIS_USERS", "KLUIS_DELIBERATIONS", "KLUIS_KEYSTORE"):
        env.pop(name, None)
    load_before = os.getloadavg()
    work = OUT / "plain"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plain_run = _measure([sys.executable, "-m", "benchmarks.bench_enclave", "--plain",
                          str(extract), str(work)], env)  # fmt: skip
    request = OUT / f"request-{time.strftime('%Y%m%dT%H%M%S')}"
    enclave_run = _measure([sys.executable, "-m", "kluis.cli", "enclave", "run", str(EXAMPLE),
                            "--extract", str(extract), "--out", str(request),
                            "--today", TODAY], env)  # fmt: skip
    load_after = os.getloadavg()
    if plain_run["exit_code"] != 0 or enclave_run["exit_code"] != 0:
        raise RuntimeError(f"a run failed:\n{plain_run['output']}\n{enclave_run['output']}")
    plain_parts = json.loads(plain_run["output"].strip().splitlines()[-1])
    log = (request / "run.log").read_text()
    checks = {
        m[0]: {"total": float(m[1]), **_parts(m[2])}
        for m in re.findall(r"checked (\S+) in ([\d.]+) s(?: \((.*)\))?", log)
    }
    sandbox = {m[0]: float(m[1]) for m in re.findall(r"^(\S+): exit \d+ after ([\d.]+) s", log,
                                                     re.M)}  # fmt: skip
    # the plain run as the researcher wrote it, without the extra categorical fit; and with
    # that fit in place of the researcher's (the enclave's way of fitting)
    plain_wall = plain_run["wall_s"] - plain_parts["wage_regression_categorical"]
    plain_categorical = (
        plain_wall - plain_parts["wage_regression"] + plain_parts["wage_regression_categorical"]
    )
    figures = {
        "persons_2025": rows[str(YEAR)],
        "enclave_wall_s": enclave_run["wall_s"],
        "enclave_peak_rss_gb": enclave_run["peak_rss_gb"],
        "plain_wall_s": round(plain_wall, 2),
        "plain_peak_rss_gb": plain_run["peak_rss_gb"],
        "overhead_pct": round(100 * (enclave_run["wall_s"] / plain_wall - 1), 1),
        "plain_categorical_wall_s": round(plain_categorical, 2),
        "overhead_vs_categorical_pct": round(
            100 * (enclave_run["wall_s"] / plain_categorical - 1), 1
        ),
        "enclave_checks_s": checks,
        "enclave_sandbox_s": sandbox,
        "plain_parts_s": {k: round(v, 2) for k, v in plain_parts.items()},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "request": str(request),
    }
    (OUT / "figures.json").write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--plain":
        print(json.dumps(plain(Path(sys.argv[2]), Path(sys.argv[3]))))
    else:
        print(json.dumps(main(), indent=2))
