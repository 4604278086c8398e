"""Demo stages around everything else: a kluis home of its own first, the audit trail last.

`setup` (FIRST in STAGES) makes `--out/home` the demo's KLUIS_HOME — users (the steward is the
account running the demo; demo checkers and a researcher for the review stage) and the
steward's signing key — through the same CLI a steward would use. `verify` (LAST) checks the
audit log of the whole demo against its signed checkpoints and every published head, and shows
what retention will destroy when.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

from kluis.demo.context import Demo

#: demo users besides the steward: name -> (role, password). The review stage signs in with
#: these; they are demo passwords, printed in the demo's output, never real ones.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "demo-checker-1": ("checker", "demo-checker-1-password"),
    "demo-checker-2": ("checker", "demo-checker-2-password"),
    "demo-researcher": ("researcher", "demo-researcher-password"),
}
STEWARD_PASSWORD = "demo-steward-password"


def home_of(demo: Demo) -> Path:
    return (demo.out / "home").absolute()


def _add_user(demo: Demo, name: str, role: str, password: str, account: str) -> None:
    """`kluis users add ... --password-stdin` with the password on standard input."""
    saved = sys.stdin
    sys.stdin = io.StringIO(password + "\n")
    try:
        demo.kluis(
            f"Add {role} {name}",
            ["users", "add", name, "--role", role, "--account", account, "--password-stdin"],
        )
    finally:
        sys.stdin = saved


def setup(demo: Demo) -> list[str]:
    """A fresh KLUIS_HOME for the demo: users and the steward's signing key."""
    from kluis.access import current_account

    home = home_of(demo)
    shutil.rmtree(home, ignore_errors=True)  # the demo's own state: a re-run starts afresh
    os.environ["KLUIS_HOME"] = str(home)
    for name in ("KLUIS_AUDIT_LOG", "KLUIS_USERS", "KLUIS_KEYSTORE", "KLUIS_DELIBERATIONS"):
        os.environ.pop(name, None)
    me = current_account()
    _add_user(demo, me, "steward", STEWARD_PASSWORD, me)  # the first user: this account
    for name, (role, password) in DEMO_USERS.items():
        _add_user(demo, name, role, password, name)
    demo.kluis("The steward's signing key (releases, audit checkpoints)", ["keys", "release-key"])
    users = ", ".join(f"{n} ({r}, password {p})" for n, (r, p) in DEMO_USERS.items())
    return [
        f"kluis home (users, keys, audit log):  {home}/",
        f"Demo users:                          {me} (steward), {users}",
    ]


def verify(demo: Demo) -> list[str]:
    """Check the audit log of the whole demo; show what retention will do."""
    demo.kluis("Verify the audit log (chain, signed checkpoints, heads)", ["audit", "verify"])
    demo.kluis("What is kept until when", ["retention", "status"])
    home = home_of(demo)
    return [
        f"Audit log (kluis audit show):        {home}/audit.jsonl",
        f"Catalogue for retention:             {home}/catalogue/",
    ]
