"""`make bench`: run every benchmark module (benchmarks/bench_*.py) and collect their figures.

Each module exposes `main() -> dict`. Results go to bench-out/results.json; the figures quoted in
docs/benchmarks.md come from these runs. Select modules with `--only NAME` (repeatable).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import time
from pathlib import Path


def _machine() -> dict:
    import os

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if any(o in n for o in args.only)]
    results: dict = {"machine": _machine(), "benchmarks": {}}
    out = Path("bench-out")
    out.mkdir(exist_ok=True)
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        figures = module.main()
        results["benchmarks"][name] = {"figures": figures, "wall_s": time.perf_counter() - start}
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
