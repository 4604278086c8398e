"""Benchmark: CLI start-up, before and after (issue 15).

`kluis --help`, `kluis deliberation check deliberations/26-104.yaml` and `kluis extract --help`,
each run REPEATS times as a fresh process (`python -m kluis.cli`), on this tree ("after") and on
commit BEFORE (the state before this round, checked out in a temporary git worktree and run
with the same interpreter and packages). Reported: median and fastest wall time, median CPU
time of the process, and which heavy libraries the command imported (`python -X importtime`).
Targets (on this machine): `--help` under 0.5 s, `deliberation check` under 1 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "a8e38fe"
REPEATS = int(os.environ.get("KLUIS_BENCH_CLI_REPEATS", "7"))
COMMANDS = {
    "--help": ["--help"],
    "deliberation check": ["deliberation", "check", "deliberations/26-104.yaml"],
    "extract --help": ["extract", "--help"],
}
HEAVY = ("numpy", "pyarrow", "pandas", "scipy", "ibis", "duckdb", "pyreadstat", "highspy")
TARGETS = {"--help": 0.5, "deliberation check": 1.0}


@contextlib.contextmanager
def _checkout(rev: str) -> Iterator[Path]:
    """`rev` in a temporary worktree (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="kluis-bench-cli-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), rev],
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
            )


def steward_home(home: Path) -> None:
    """A throw-away KLUIS_HOME whose users file makes this account the steward (commands check
    roles since this round; the tree before ignores the file)."""
    from kluis.access import Users, current_account

    Users(home / "users.yaml").add(current_account(), "steward", password="bench-steward")


def _env(tree: Path, home: Path) -> dict[str, str]:
    """The tree's sources first on the path; state in a throw-away home."""
    return dict(
        os.environ,
        PYTHONPATH=str(tree),
        KLUIS_HOME=str(home),
        KLUIS_AUDIT_LOG=str(home / "audit.jsonl"),
        COLUMNS="100",
    )


def _once(tree: Path, argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kluis.cli", *argv],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _imports(tree: Path, argv: list[str], env: dict[str, str]) -> list[str]:
    """Heavy top-level packages the command imports."""
    got = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kluis.cli", *argv],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    names = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in got.stderr.splitlines()
        if line.startswith("import time:")
    }
    return [h for h in HEAVY if h in names]


def measure(tree: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="kluis-bench-home-") as home:
        steward_home(Path(home))
        env = _env(tree, Path(home))
        out = {}
        for name, argv in COMMANDS.items():
            _once(tree, argv, env)  # warm the file cache and bytecode
            runs = [_once(tree, argv, env) for _ in range(REPEATS)]
            walls = [w for w, _c, _x in runs]
            out[name] = {
                "median_wall_s": round(statistics.median(walls), 3),
                "min_wall_s": round(min(walls), 3),
                "median_cpu_s": round(statistics.median(c for _w, c, _x in runs), 3),
                "exit_codes": sorted({x for _w, _c, x in runs}),
                "heavy_imports": _imports(tree, argv, env),
            }
        return out


def main() -> dict:
    load_start = os.getloadavg()[0]
    with _checkout(BEFORE) as before_tree:
        before = measure(before_tree)
    after = measure(REPO)
    results = {
        "before_commit": BEFORE,
        "repeats": REPEATS,
        "before": before,
        "after": after,
        "targets_s": TARGETS,
        "load_avg_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }
    for name in COMMANDS:
        b, a = before[name]["median_wall_s"], after[name]["median_wall_s"]
        print(f"{name:20s} before {b:6.2f} s   after {a:6.2f} s   ({b / a:4.1f}x)", flush=True)
    out = REPO / "bench-out" / "cli"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
