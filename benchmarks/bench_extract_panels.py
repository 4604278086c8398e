"""Benchmark: the 26/104 person panels (issue 4), both phases, DuckDB and Spark.

Target: the full phase on a 7,500,000-person warehouse (2019-2026, deliberation years
2020-2026) under 10 minutes and 8 GB peak memory on the 2-core machine; also the same run on
Spark local mode at a smaller scale (500,000 persons).

Warehouses: the national one is $KLUIS_BENCH_PANELS_WH, else /work/bench-wh when present, else
one generated into bench-out/ at $KLUIS_BENCH_PANELS_PERSONS (default 200,000). The Spark one is
generated at $KLUIS_BENCH_PANELS_SPARK_PERSONS (default 500,000; 0 skips Spark);
$KLUIS_BENCH_PANELS_PARTS=duckdb,spark selects the parts. Each run is
`kluis extract` in a child process: wall time, and peak memory as the largest sum of the resident
sets of the child and its descendants (the JVM on Spark), sampled every 0.2 s, besides the
kernel's rusage maximum of the child.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DELIBERATION = REPO / "deliberations" / "26-104.yaml"
OUT = REPO / "bench-out" / "panels"
NATIONAL = Path("/work/bench-wh")
YEARS = (2019, 2026)


def _generated(persons: int, seed: int) -> Path:
    wh = OUT / f"wh-{persons}"
    if not (wh / "warehouse.json").is_file():
        from kluis.warehouse.generate import generate_warehouse

        print(f"generating a warehouse of {persons:,} persons, {YEARS[0]}-{YEARS[1]} ...")
        generate_warehouse(wh, persons=persons, years=YEARS, seed=seed)
    return wh


def _national() -> Path:
    env = os.environ.get("KLUIS_BENCH_PANELS_WH")
    if env:
        return Path(env)
    if (NATIONAL / "warehouse.json").is_file():
        return NATIONAL
    return _generated(int(os.environ.get("KLUIS_BENCH_PANELS_PERSONS", "200000")), 2026)


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(ppid, []).append(pid)
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _run(args: list[str]) -> dict:
    """Run a child process; wall time, peak tree RSS (sampled) and the child's ru_maxrss."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(OUT / "last.stdout", "w") as out, open(OUT / "last.stderr", "w") as err:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{(OUT / 'last.stderr').read_text()[-4000:]}")
    return {
        "wall_s": round(wall, 1),
        "peak_tree_rss_gib": round(peak[0] / 2**30, 2),
        "child_maxrss_gib": round(usage.ru_maxrss / 2**20, 2),  # KiB on Linux
        # CPU seconds of the child and the descendants it waited for (not Spark's JVM)
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "load_avg_1min_at_end": round(os.getloadavg()[0], 2),
    }


def _rows_in(wh: Path, first: int, last: int) -> int:
    import pyarrow.parquet as pq

    from kluis.warehouse.layout import table_path

    return sum(
        pq.ParquetFile(table_path(wh, "person_year", y)).metadata.num_rows
        for y in range(first, last + 1)
    )


def _extract(wh: Path, phase: str, engine: str, keystore: Path, tag: str) -> dict:
    out = OUT / f"out-{tag}"
    args = [
        sys.executable, "-m", "kluis.cli", "extract", str(DELIBERATION),
        "--warehouse", str(wh), "--phase", phase, "--out", str(out), "--engine", engine,
        "--keystore", str(keystore), "--today", "2026-11-22",
    ]  # fmt: skip
    print(f"-- {tag}: {' '.join(args[3:])}", flush=True)
    figures = _run(args)
    manifest = json.loads((out / "manifest.json").read_text())
    rows = sum(n for per_year in manifest["rows"].values() for n in per_year.values())
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    first, last = manifest["warehouse_years"]
    rows_in = _rows_in(wh, max(first, 2019), min(last, 2026))
    figures.update(
        engine=engine,
        phase=phase,
        warehouse_persons=json.loads((wh / "warehouse.json").read_text())["persons"],
        person_year_rows_in=rows_in,
        rows_out=rows,
        rows_out_per_s=round(rows / figures["wall_s"]),
        rows_in_per_s=round(rows_in / figures["wall_s"]),
        parquet_gib=round(size / 2**30, 3),
        rows_per_table_year=manifest["rows"]["table1_next"],
    )
    print(json.dumps(figures), flush=True)
    return figures


def main() -> dict:
    from kluis.pseudonym import KeyStore

    OUT.mkdir(parents=True, exist_ok=True)
    keystore = OUT / f"keystore-{dt.datetime.now():%Y%m%d%H%M%S}"
    KeyStore(keystore).create("26/104")
    results: dict = {}
    parts = os.environ.get("KLUIS_BENCH_PANELS_PARTS", "duckdb,spark").split(",")
    if "duckdb" in parts or "duckdb-full" in parts:
        national = _national()
        results["duckdb_full"] = _extract(national, "full", "duckdb", keystore, "duckdb-full")
    if "duckdb" in parts:
        results["duckdb_development"] = _extract(
            national, "development", "duckdb", keystore, "duckdb-dev"
        )
    spark_persons = int(os.environ.get("KLUIS_BENCH_PANELS_SPARK_PERSONS", "500000"))
    if spark_persons and "spark" in parts:
        small = _generated(spark_persons, 2027)
        results["spark_full"] = _extract(small, "full", "spark", keystore, "spark-full")
        results["duckdb_full_same_scale"] = _extract(
            small, "full", "duckdb", keystore, "duckdb-full-small"
        )
        a, b = OUT / "out-spark-full", OUT / "out-duckdb-full-small"
        same = all(
            p.read_bytes() == (b / p.relative_to(a)).read_bytes() for p in a.rglob("*.parquet")
        )
        results["spark_equals_duckdb"] = same
    (OUT / f"results-{'-'.join(parts)}.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
