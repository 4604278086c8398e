"""Benchmark `kluis warehouse validate` (and `profile`) on a generated warehouse.

The warehouse is generated once into bench-out/ (reused when present) with
KLUIS_BENCH_VALIDATE_PERSONS residents 15-64 (default 1,000,000) over KLUIS_BENCH_VALIDATE_YEARS
(default 2020-2026, the years of deliberation 26/104); KLUIS_BENCH_VALIDATE_DIR validates an
existing warehouse instead. Validation and profiling each run in a child process so that their
own peak memory is measured.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PERSONS = int(os.environ.get("KLUIS_BENCH_VALIDATE_PERSONS", "1000000"))
YEARS = os.environ.get("KLUIS_BENCH_VALIDATE_YEARS", "2020-2026")
MEMORY_LIMIT = os.environ.get("KLUIS_BENCH_VALIDATE_MEMORY", "6GB")


def _warehouse() -> tuple[Path, float | None]:
    given = os.environ.get("KLUIS_BENCH_VALIDATE_DIR")
    if given:
        return Path(given), None
    first, last = (int(y) for y in YEARS.split("-"))
    out = Path("bench-out") / f"warehouse-{PERSONS}-{first}-{last}"
    if (out / "warehouse.json").is_file():
        return out, None
    from kluis.warehouse.generate import generate_warehouse

    start = time.perf_counter()
    generate_warehouse(out, persons=PERSONS, years=(first, last), seed=1)
    return out, time.perf_counter() - start


def _child(kind: str, path: Path) -> dict:
    """Run one validation or profile in a fresh process; its figures come back as JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_validate", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> int:
    """This process's own peak RSS (VmHWM: unlike ru_maxrss it does not carry over the parent's
    peak through fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _run_validate(path: Path) -> dict:
    from kluis.warehouse.validate import validate_warehouse

    steps: dict[str, float] = {}
    mark = [time.perf_counter(), None]

    def on_step(name: str | None) -> None:
        now = time.perf_counter()
        if mark[1] is not None:
            steps[mark[1]] = round(now - mark[0], 2)
        mark[:] = [now, name]

    start = time.perf_counter()
    report = validate_warehouse(path, memory_limit=MEMORY_LIMIT, on_step=on_step)
    on_step(None)
    wall = time.perf_counter() - start
    rows = sum(t["rows"] for t in report.tables.values())
    return {
        "wall_s": round(wall, 1),
        "rows": rows,
        "rows_per_s": round(rows / wall),
        "steps_s": steps,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_profile(path: Path) -> dict:
    from kluis.warehouse.profile import profile_warehouse

    start = time.perf_counter()
    p = profile_warehouse(path)
    return {
        "wall_s": round(time.perf_counter() - start, 1),
        "figures_ok": sum(1 for f in p.figures if f.ok),
        "figures": len(p.figures),
        "peak_rss_mb": _peak_rss_mb(),
    }


def main() -> dict:
    path, generate_s = _warehouse()
    size_mb = sum(f.stat().st_size for f in path.rglob("*.parquet")) / 2**20
    figures = {
        "warehouse": str(path),
        "parquet_mb": round(size_mb),
        "generate_s": None if generate_s is None else round(generate_s, 1),
        "validate": _child("validate", path),
        "profile": _child("profile", path),
    }
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3:
        kind, where = sys.argv[1], Path(sys.argv[2])
        result = _run_validate(where) if kind == "validate" else _run_profile(where)
        print(json.dumps(result))
    else:
        main()
