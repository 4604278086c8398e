"""`kill -9` of a run at any moment: no half-written request, no sandbox left running, and the
killed run's temporaries (which hold microdata) are removed by the next run beside them."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import TODAY, write_project

pytestmark = pytest.mark.xdist_group("enclave")

SLOW = """import time
import kluis.safe as safe
t = safe.data("table1_next")
time.sleep(3)
safe.crosstab(t.filter(t.year == 2025), "province", "sex", name="by_province")
"""
SPS = "GET FILE='table1_next_2025.sav' /KEEP=sex.\nFREQUENCIES /VARIABLES=sex.\n"


def _command(project: Path, extract: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "kluis.cli", "enclave", "run", str(project), "--extract",
            str(extract), "--out", str(out), "--today", TODAY]  # fmt: skip


def _running(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmd:
            found.append(cmd)
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_at_a_random_moment(enclave_extracts, enclave_home, tmp_path, seed):
    project = write_project(tmp_path / "proj", "26/104", {"a.py": SLOW, "b.sps": SPS})
    folder = tmp_path / "requests"
    folder.mkdir()
    out = folder / f"killed-{seed}"
    proc = subprocess.Popen(_command(project, enclave_extracts["26-104-full"], out),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(random.Random(seed).uniform(2.0, 9.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15  # the kernel reaps the sandbox; under load it takes a while
    while _running(out.name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running(out.name) == []  # bwrap and everything in it died with the enclave
    if out.exists():  # the kill came after the request was published: it is whole
        req = load_request(out)
        assert [o.name for o in req.outputs] == ["by_province", "b"]
    # a later run beside it removes what the killed run left (its work area holds microdata)
    again = folder / "again"
    done = subprocess.run(_command(project, enclave_extracts["26-104-full"], again),
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["again"] + ([out.name] if out.exists() else [])
    )
    assert load_request(again).output("by_province").status in ("safe", "suppressed")
