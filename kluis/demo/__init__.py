"""`make demo`: the whole path at demo scale, through the same CLI a data steward uses.

Each stage is a module with `run(demo) -> list[str]` (its 'where to look' lines), or
"module:function" for another function of that signature, run in the order of `STAGES`.
Everything lands under --out; the demo's kluis home (users, keys, audit log) is --out/home.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

from rich.panel import Panel

from kluis.demo.context import Demo

STAGES = (
    "kluis.demo.audit:setup",  # FIRST: the demo's own KLUIS_HOME, users, signing key
    "kluis.demo.extracts",  # warehouse, keys, both deliberations, both phases
    "kluis.demo.risk",  # re-identification risk of the 26/104 development extract
    "kluis.demo.disclosure",  # small cell risk analysis of result tables
    "kluis.demo.enclave",  # both example projects on both phases, in the sandbox
    "kluis.demo.review",  # checkers review the enclave's requests; signed, verified releases
    "kluis.demo.audit:verify",  # LAST: kluis audit verify, kluis retention status
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    demo = Demo(out=args.out, persons=args.persons, seed=args.seed)
    where: list[str] = []
    saved = dict(os.environ)  # the stages set KLUIS_HOME for the demo only
    try:
        for stage in STAGES:
            module, _, function = stage.partition(":")
            where += getattr(importlib.import_module(module), function or "run")(demo)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    demo.console.print(Panel.fit("\n".join(where), title="Where to look"))
