"""Real concurrent `kluis` processes, SIGTERM and `kill -9`: OUT is always either absent or a
whole extract, never replaced by another phase, and what a killed run leaves beside it (hidden
temporaries of pseudonymised data, its lock file, its catalogue record) is swept by the next run
of any command that writes a catalogued item."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kluis import atomic
from kluis.extract.delivery.publish import verify
from kluis.home import catalogue_dir

SHIPPED = Path(__file__).resolve().parents[3] / "deliberations"


def _argv(wh: Path, keys: Path, out: Path, phase: str, nbb: Path | None = None) -> list[str]:
    deliberation = "24-074" if nbb else "26-104"
    argv = [
        sys.executable,
        "-m",
        "kluis.cli",
        "extract",
        str(SHIPPED / f"{deliberation}.yaml"),
        "--warehouse",
        str(wh),
        "--keystore",
        str(keys),
        "--out",
        str(out),
        "--phase",
        phase,
        "--today",
        "2026-11-22",
    ]
    return argv + (["--enterprises", str(nbb)] if nbb else [])


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for `proc` and read its stderr (closing its pipes)."""
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _hidden(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*"))


def _wait_for(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def _record(out: Path) -> dict | None:
    for f in catalogue_dir().glob("extract-*.json"):
        entry = json.loads(f.read_text())
        if entry["path"] == str(out):
            return entry
    return None


def _sweep_by_another_run(tmp_path: Path) -> None:
    """Any later run that writes a catalogued item sweeps the leftovers of dead runs."""
    done = subprocess.run(
        [sys.executable, "-m", "kluis.cli", "warehouse", "generate", "--persons", "200"]
        + ["--years", "2025-2026", "--out", str(tmp_path / "other-wh")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_development_and_full_at_once_into_one_out(
    tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list
):
    """Started together: exactly one publishes; the other is refused (1), by the lock or, if it
    came second, because OUT holds the other phase. OUT holds the winner's whole extract."""
    out = tmp_path / "out"
    runs = {
        phase: _start(_argv(tiny_warehouse, seed_keys, out, phase, tiny_nbb_list))
        for phase in ("full", "development")
    }
    results = {phase: _finish(p) for phase, p in runs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 1], results
    winner = next(phase for phase, (code, _) in results.items() if code == 0)
    loser_err = next(err for code, err in results.values() if code == 1)
    assert "being written by another kluis run" in loser_err or (
        f"holds the {winner} extract" in loser_err
    )
    assert "Traceback" not in loser_err
    assert json.loads((out / "manifest.json").read_text())["phase"] == winner
    assert verify(out) == []
    assert _hidden(out) == []


def test_a_held_lock_refuses_a_second_writer(tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list):
    out = tmp_path / "out"
    with atomic.locked(out, wait=False):  # another writer of OUT, as far as kluis can tell
        done = subprocess.run(
            _argv(tiny_warehouse, seed_keys, out, "full", tiny_nbb_list),
            capture_output=True,
            text=True,
        )
    assert done.returncode == 1
    assert f"{out} is being written by another kluis run" in done.stderr
    assert not out.exists()


def _kill_while_staging(argv: list[str], out: Path, sig: int) -> subprocess.Popen:
    proc = _start(argv)
    _wait_for(lambda: any(".tmp-" in p.name or ".work-" in p.name for p in _hidden(out)))
    proc.send_signal(sig)
    return proc


def test_sigterm_cleans_up_at_once(tmp_path, tiny_warehouse, seed_keys):
    out = tmp_path / "out"
    proc = _kill_while_staging(
        _argv(tiny_warehouse, seed_keys, out, "development"), out, signal.SIGTERM
    )
    code, err = _finish(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert not out.exists() and _hidden(out) == []
    assert _record(out) is None


def test_kill_9_leftovers_are_swept_by_the_next_run(tmp_path, tiny_warehouse, seed_keys):
    out = tmp_path / "out"
    proc = _kill_while_staging(
        _argv(tiny_warehouse, seed_keys, out, "development"), out, signal.SIGKILL
    )
    assert _finish(proc)[0] == -signal.SIGKILL
    left = _hidden(out)
    assert any(".work-" in p.name or ".tmp-" in p.name for p in left)  # the fault is real
    assert _record(out)["details"]["state"] == "writing"  # ... and the catalogue knows of it
    _sweep_by_another_run(tmp_path)
    assert _hidden(out) == [] and not out.exists()
    assert _record(out) is None  # nothing was published there: no record is kept


@pytest.mark.parametrize("trial", range(2))
def test_kill_9_at_a_random_moment_leaves_old_or_new(
    tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list, trial
):
    """A first extract is published; a rerun is killed at a random moment: OUT is a whole,
    verified extract (the old one or the new one), and the next run sweeps the rest."""
    out = tmp_path / "out"
    argv = _argv(tiny_warehouse, seed_keys, out, "full", tiny_nbb_list)
    assert subprocess.run(argv, capture_output=True).returncode == 0
    proc = _start(argv)
    time.sleep(1.0 + 2.5 * trial)  # in the checks, then while staging or publishing
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    assert verify(out) == []
    _sweep_by_another_run(tmp_path)
    assert _hidden(out) == []
    assert _record(out)["details"]["state"] in ("published", "writing")
    rerun = subprocess.run(argv, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert _record(out)["details"]["state"] == "published"


def test_kill_9_of_generate(tmp_path):
    wh = tmp_path / "wh"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kluis.cli", "warehouse", "generate", "--persons", "20000"]
        + ["--years", "2003-2026", "--out", str(wh)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: any(".tmp-" in p.name for p in _hidden(wh)))
    proc.kill()
    proc.wait(60)
    assert any(".tmp-" in p.name for p in _hidden(wh)) and not wh.exists()
    _sweep_by_another_run(tmp_path)
    assert _hidden(wh) == [] and not wh.exists()
