"""Benchmark: the 26/104 development extract at demo scale, before and after (issue 15).

The demo's warehouse (50,000 residents aged 15-64 a year, 2003-2026, seed 2026; generated once
into bench-out/extract-dev/) and the demo's command: `kluis extract deliberations/26-104.yaml
--phase development --format parquet,sav,dta` (a ~0.15% sample: ~10,000 persons a year, 2
tables × 7 years, 149 columns). Each is run REPEATS times as a fresh process on commit BEFORE
(the state before this round, in a temporary git worktree, same interpreter and packages) and
on this tree; the full phase (Parquet only) once each. Reported: median wall time, CPU time and
peak memory of the process, and whether the two trees wrote byte-identical files.

Anchor: DuckDB alone, hand-written SQL, reading the same files and writing the same shape —
the sample's person-years of 2020-2026 joined with persons and with their next year's row,
all raw columns, to Parquet — in the same process run: the floor that engine work sets.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_cli import BEFORE, _checkout, steward_home

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-out" / "extract-dev"
DELIBERATION = "deliberations/26-104.yaml"
PERSONS, YEARS, SEED = 50_000, (2003, 2026), 2026
REPEATS = int(os.environ.get("KLUIS_BENCH_DEV_REPEATS", "3"))
DATA = (".parquet", ".sav", ".dta")


def _warehouse() -> Path:
    wh = OUT / "wh"
    if not (wh / "warehouse.json").is_file():
        from kluis.warehouse.generate import generate_warehouse

        print(f"generating the demo warehouse ({PERSONS:,} persons, {YEARS[0]}-{YEARS[1]}) ...")
        generate_warehouse(wh, persons=PERSONS, years=YEARS, seed=SEED)
    return wh


def _run(tree: Path, args: list[str], home: Path) -> dict:
    env = dict(
        os.environ,
        PYTHONPATH=str(tree),
        KLUIS_HOME=str(home),
        KLUIS_AUDIT_LOG=str(home / "audit.jsonl"),
        # the registry of deliberations in force (read since this round; ignored before)
        KLUIS_DELIBERATIONS=str(tree / "deliberations"),
    )
    start = time.perf_counter()
    with open(OUT / "last.stderr", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kluis.cli", *args],
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed in {tree}:\n{(OUT / 'last.stderr').read_text()[-3000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_gib": usage.ru_maxrss / 2**20,
    }


def _extract(tree: Path, phase: str, formats: str, out: Path, wh: Path, ks: Path) -> list:
    args = [
        "extract", DELIBERATION, "--warehouse", str(wh), "--keystore", str(ks),
        "--today", "2026-11-22", "--phase", phase, "--out", str(out), "--format", formats,
    ]  # fmt: skip
    runs = []
    with tempfile.TemporaryDirectory(prefix="kluis-bench-home-") as home:
        steward_home(Path(home))
        for _ in range(REPEATS if phase == "development" else 1):
            runs.append(_run(tree, args, Path(home)))
    return runs


def _summary(runs: list[dict]) -> dict:
    return {
        "runs": len(runs),
        "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
        "min_wall_s": round(min(r["wall_s"] for r in runs), 2),
        "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "max_rss_gib": round(max(r["maxrss_gib"] for r in runs), 2),
    }


def _differences(a: Path, b: Path) -> list[str]:
    files = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    files |= {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    return sorted(
        f
        for f in files
        if not (a / f).is_file()
        or not (b / f).is_file()
        or (a / f).read_bytes() != (b / f).read_bytes()
    )


def anchor(wh: Path, sample: int = 12_000) -> dict:
    """Hand-written DuckDB: the development extract's joins and volume, no coarsening."""
    import duckdb

    from kluis.warehouse.layout import table_path

    years = list(range(2019, 2027))
    py = [str(table_path(wh, "person_year", y)) for y in years]
    persons = str(table_path(wh, "persons"))
    target = OUT / "anchor.parquet"
    start = time.perf_counter()
    con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB"})
    con.execute(
        f"""
        COPY (
          WITH py AS (SELECT * FROM read_parquet({py})),
          p AS (SELECT * FROM read_parquet('{persons}')),
          pop AS (
            SELECT py.*, p.* EXCLUDE (insz) FROM py JOIN p USING (insz)
            WHERE py.year BETWEEN 2020 AND 2026 AND py.resident AND NOT p.waiting_register
              AND py.year - year(p.birth_date) BETWEEN 15 AND 64
              AND (p.death_date IS NULL OR year(p.death_date) > py.year)
          ),
          s AS (
            SELECT insz FROM (SELECT DISTINCT insz FROM pop)
            ORDER BY hash(insz) LIMIT {sample}
          )
          SELECT pop.*, nxt.* EXCLUDE (insz, year)
          FROM pop JOIN s USING (insz)
          LEFT JOIN py AS nxt ON nxt.insz = pop.insz AND nxt.year = pop.year + 1
          ORDER BY pop.year, hash(pop.insz)
        ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]
    con.close()
    return {"wall_s": round(time.perf_counter() - start, 2), "rows": rows}


def main() -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    wh = _warehouse()
    ks = OUT / "keystore"
    if not (ks / "26-104.key").is_file():
        from kluis.pseudonym import KeyStore

        KeyStore(ks).create("26/104")
    results: dict = {"before_commit": BEFORE, "warehouse_persons": PERSONS}
    with _checkout(BEFORE) as before_tree:
        for label, tree in (("before", before_tree), ("after", REPO)):
            for phase, formats in (("development", "parquet,sav,dta"), ("full", "parquet")):
                out = OUT / f"{label}-{phase}"
                print(f"-- {label} {phase} ({formats})", flush=True)
                runs = _extract(tree, phase, formats, out, wh, ks)
                results[f"{label}_{phase}"] = _summary(runs)
                print(json.dumps(results[f"{label}_{phase}"]), flush=True)
    for phase in ("development", "full"):
        diff = _differences(OUT / f"before-{phase}", OUT / f"after-{phase}")
        # the data files must not change; the data package and codebook gained the year in
        # the panels' primary key (a fix), and the manifest lists their hashes
        results[f"{phase}_identical_data_files"] = not [f for f in diff if f.endswith(DATA)]
        results[f"{phase}_differing_files"] = diff
    results["anchor_duckdb_sql"] = anchor(wh)
    b, a = results["before_development"], results["after_development"]
    results["development_speedup"] = round(b["median_wall_s"] / a["median_wall_s"], 1)
    results["load_avg_1min"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
