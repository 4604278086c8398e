"""Benchmark: the 24/074 employer extract (full phase, and the development fragment) at scale.

Target (issue 5): the full phase at national scale (about 257,000 employers, 2003-2021) under 10
minutes and 8 GB on the 2-core machine.

Warehouse: $KLUIS_BENCH_EMPLOYER_WH, else /work/bench-wh-full when present, else one generated
into bench-out/ at $KLUIS_BENCH_EMPLOYER_PERSONS residents (default 200,000) for 2003-2021. Each
phase runs as `kluis extract` in a child process, so its wall time and peak RSS are its own
(peak RSS from the kernel's rusage of the child, i.e. /usr/bin/time's "maximum resident set").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DELIBERATION = REPO / "deliberations" / "24-074.yaml"
OUT = REPO / "bench-out" / "employer"
NATIONAL = Path("/work/bench-wh-full")


def _warehouse() -> tuple[Path, bool]:
    env = os.environ.get("KLUIS_BENCH_EMPLOYER_WH")
    if env:
        return Path(env), False
    if (NATIONAL / "warehouse.json").is_file():
        return NATIONAL, False
    persons = int(os.environ.get("KLUIS_BENCH_EMPLOYER_PERSONS", "200000"))
    wh = OUT / f"wh-{persons}"
    if not (wh / "warehouse.json").is_file():
        from kluis.warehouse.generate import generate_warehouse

        print(f"generating a warehouse of {persons:,} persons, 2003-2021 ...", flush=True)
        generate_warehouse(wh, persons=persons, years=(2003, 2021), seed=2024)
    return wh, True


def _run(args: list[str], env: dict[str, str]) -> dict:
    """Run a child process; its wall time and its own peak RSS (os.wait4's rusage)."""
    start = time.perf_counter()
    with open(OUT / "last.stdout", "w") as out, open(OUT / "last.stderr", "w") as err:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed:\n{(OUT / 'last.stdout').read_text()}\n"
            f"{(OUT / 'last.stderr').read_text()[-4000:]}"
        )
    return {
        "wall_s": round(wall, 1),
        "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),  # ru_maxrss is in KiB on Linux
        "stdout": (OUT / "last.stdout").read_text().strip().splitlines()[-3:],
    }


def _size(wh: Path) -> dict:
    import pyarrow.parquet as pq

    from kluis.warehouse.layout import read_meta, table_path, table_years

    meta = read_meta(wh)
    employers = pq.ParquetFile(table_path(wh, "employers")).metadata.num_rows
    years = [y for y in table_years(wh, "employments") if 2003 <= y <= 2021]
    jobs = sum(pq.ParquetFile(table_path(wh, "employments", y)).metadata.num_rows for y in years)
    return {
        "persons": meta["persons"],
        "employers": employers,
        "years": [years[0], years[-1]],
        "employment_rows_2003_2021": jobs,
    }


def main() -> dict:
    wh, generated = _warehouse()
    OUT.mkdir(parents=True, exist_ok=True)
    size = _size(wh)
    print(f"warehouse {wh}: {json.dumps(size)}", flush=True)
    env = {
        **os.environ,
        "KLUIS_KEYSTORE": str(OUT / "keys"),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }
    kluis = [sys.executable, "-m", "kluis.cli"]
    nbb = OUT / "nbb.csv"
    figures: dict = {"warehouse": str(wh), "generated_here": generated, **size}
    figures["nbb_list"] = _run(
        [*kluis, "warehouse", "nbb-list", "--warehouse", str(wh), "--out", str(nbb)], env
    )
    figures["nbb_enterprises"] = sum(1 for _ in nbb.open()) - 1
    if not (OUT / "keys" / "24-074.key").is_file():
        subprocess.run(
            [*kluis, "keys", "create", "24/074"], env=env, check=True, capture_output=True
        )
    for phase in ("full", "development"):
        out = OUT / f"extract-{phase}"
        figures[phase] = _run(
            [
                *kluis,
                "extract",
                str(DELIBERATION),
                "--warehouse",
                str(wh),
                "--phase",
                phase,
                "--out",
                str(out),
                "--enterprises",
                str(nbb),
                "--today",
                "2025-01-01",
            ],
            env,
        )
        manifest = json.loads((out / "manifest.json").read_text())
        figures[phase]["rows"] = {t: sum(r.values()) for t, r in manifest["rows"].items()}
        print(f"{phase}: {json.dumps(figures[phase])}", flush=True)
    full = figures["full"]
    figures["full_employment_rows_per_s"] = round(
        size["employment_rows_2003_2021"] / max(full["wall_s"], 1e-9)
    )
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
