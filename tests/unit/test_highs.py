"""HiGHS's licence banner never reaches stdout (CLI output, a report a checker reads)."""

from __future__ import annotations

import subprocess
import sys


def test_the_solver_banner_is_silenced() -> None:
    code = (
        "from kluis.highs import highspy\n"
        "h = highspy.Highs(); h.setOptionValue('output_flag', False)\n"
        "print('solved')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout == "solved\n"
