"""The HiGHS solver, imported through here so that its banner never reaches a user.

HiGHS prints a licence banner from C++ on the first solver object of a process, before any
option can be set; the first object is built here with file descriptor 1 pointed at /dev/null,
so the banner lands neither in CLI output nor in a report a checker reads. Every module that
solves (the attacker's audit, the linked audit, local suppression) imports `highspy` from here.
"""

from __future__ import annotations

import os
import sys

import highspy

__all__ = ["highspy"]


def _silence_banner() -> None:
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_silence_banner()
