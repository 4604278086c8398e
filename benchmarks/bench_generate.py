"""Benchmark: generate 2020-2026 at national scale (7,500,000 residents aged 15-64 per year).

Target: under 10 minutes and under 8 GB peak memory on 2 cores. Set KLUIS_BENCH_PERSONS for a
smaller run. Prints wall time, rows per second per table and peak RSS; returns them as a dict.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from kluis.warehouse.generate import generate_warehouse
from kluis.warehouse.layout import table_path, table_years

YEARS = (2020, 2026)
SEED = 2026


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> dict:
    persons = int(os.environ.get("KLUIS_BENCH_PERSONS", "7500000"))
    base = Path(tempfile.mkdtemp(prefix="kluis-bench-generate-"))
    out = base / "wh"
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()

    def progress(label: str, done: int, total: int) -> None:
        marks.append((label, time.perf_counter() - start))
        print(f"  {label:24s} {marks[-1][1]:8.1f} s  ({done}/{total})", flush=True)

    try:
        meta = generate_warehouse(out, persons=persons, years=YEARS, seed=SEED, progress=progress)
        wall = time.perf_counter() - start
        size = _dir_bytes(out)
        per_year = {
            y: table_path(out, "person_year", y).stat().st_size
            for y in table_years(out, "person_year")
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows = meta["rows"]
    result = {
        "persons": persons,
        "years": list(YEARS),
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak_rss_gb, 2),
        "output_gb": round(size / 1024**3, 2),
        "rows": rows,
        "rows_per_s": {t: round(n / wall) for t, n in rows.items()},
        "person_year_file_mb": {y: round(b / 1024**2, 1) for y, b in per_year.items()},
        "year_marks_s": {label: round(t, 1) for label, t in marks},
    }
    print(
        f"generate {persons:,} persons x {YEARS[0]}-{YEARS[1]}: {wall:.1f} s wall, "
        f"peak RSS {peak_rss_gb:.2f} GB, output {result['output_gb']} GB"
    )
    for t, n in rows.items():
        print(f"  {t:24s} {n:>12,} rows  {result['rows_per_s'][t]:>10,} rows/s")
    return result


if __name__ == "__main__":
    main()
