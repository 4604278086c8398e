"""`kill -9` during `tables protect --history`: a table is never published without being
recorded; the next run finishes (or undoes) what a killed one left half done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kluis.disclosure.history import JOURNAL, History, publication_id

SPEC = "name: jobs\ndimensions:\n  - column: region\n  - column: sector\nperson_id: person\n"

# the CLI in a subprocess that kills itself (SIGKILL, no clean-up) at one chosen moment
_RUN = """
import os, re, signal, sys
import kluis.atomic as atomic
where = os.environ["KILL_AT"]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if where == "before-record":
    real = os.rename
    def rename(a, b, *k, **kw):
        if re.match(r"^[0-9]{5}-", os.path.basename(str(b))):
            die()
        return real(a, b, *k, **kw)
    os.rename = rename
elif where == "before-publish":
    atomic.publish_dir = lambda staged, final: die()
elif where == "mid-exchange":
    real_x = atomic._exchange
    def exchange(a, b):
        real_x(a, b)
        die()
    atomic._exchange = exchange
from kluis.cli import main
sys.argv = ["kluis", *sys.argv[1:]]
main()
"""


def _setup(tmp_path: Path, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    n = 300
    frame = pd.DataFrame(
        {
            "person": np.arange(n),
            "region": rng.choice(list("abcd"), n, p=[0.5, 0.3, 0.15, 0.05]),
            "sector": rng.choice(list("XYZ"), n),
        }
    )
    data = tmp_path / "micro.csv"
    frame.to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return data, spec


def _cli(args: list, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "kluis.cli", "tables", "protect", *map(str, args)]
    if kill_at:
        env["KILL_AT"] = kill_at
        cmd = [sys.executable, "-c", _RUN, "tables", "protect", *map(str, args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _consistent(hist: Path, out: Path) -> None:
    """After recovery: no journal, no temporaries, and published <=> recorded."""
    with History(hist).lock():  # recovery runs on taking the lock
        pass
    assert not (hist / JOURNAL).exists()
    assert [p.name for p in hist.iterdir() if p.name.startswith(".")] == []
    recorded = [p.name for p in History(hist).releases()]
    published = (out / "public" / "jobs.csv").exists()
    assert published == bool(recorded), (published, recorded)


def test_killed_before_the_record_is_undone(tmp_path):
    data, spec = _setup(tmp_path)
    hist, out = tmp_path / "history", tmp_path / "out"
    res = _cli([data, "--spec", spec, "--history", hist, "--out", out], "before-record")
    assert res.returncode == -signal.SIGKILL
    assert (hist / JOURNAL).exists() and not out.exists()
    assert History(hist).recover().startswith("undid")
    assert not out.exists() and History(hist).releases() == []
    _consistent(hist, out)


def test_killed_after_the_record_is_finished(tmp_path):
    data, spec = _setup(tmp_path)
    hist, out = tmp_path / "history", tmp_path / "out"
    res = _cli([data, "--spec", spec, "--history", hist, "--out", out], "before-publish")
    assert res.returncode == -signal.SIGKILL
    assert [p.name for p in History(hist).releases()] == ["00001-jobs"]
    assert not out.exists()
    # the next run into the history (another table, another place) finishes the publication
    res = _cli([data, "--spec", spec, "--history", hist, "--out", tmp_path / "again"])
    assert res.returncode == 0, res.stderr
    assert (out / "public" / "jobs.csv").exists()
    ident = json.loads((out / ".kluis-tables.json").read_text())["publication"]
    assert publication_id(out) == ident
    _consistent(hist, out)


def test_killed_in_the_middle_of_replacing_an_output(tmp_path):
    data, spec = _setup(tmp_path)
    hist, out = tmp_path / "history", tmp_path / "out"
    assert _cli([data, "--spec", spec, "--history", hist, "--out", out]).returncode == 0
    first = publication_id(out)
    # the same table once more (it adds nothing new), killed right after the exchange
    spec.write_text(SPEC.replace("name: jobs", "name: jobs\npopulation: again"))
    res = _cli([data, "--spec", spec, "--history", hist, "--out", out], "mid-exchange")
    assert res.returncode == -signal.SIGKILL
    History(hist).recover()
    assert publication_id(out) != first  # the new version is in place
    assert len(History(hist).releases()) == 2
    _consistent(hist, out)


@pytest.mark.slow
def test_killed_at_random_moments(tmp_path):
    data, spec = _setup(tmp_path)
    rng = np.random.default_rng(42)
    for trial in range(4):
        hist, out = tmp_path / f"h{trial}", tmp_path / f"o{trial}"
        cmd = [sys.executable, "-m", "kluis.cli", "tables", "protect", data, "--spec", spec]
        proc = subprocess.Popen([*map(str, cmd), "--history", str(hist), "--out", str(out)])
        time.sleep(float(rng.uniform(0.5, 4.0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if hist.exists():
            _consistent(hist, out)
        else:
            assert not out.exists()
