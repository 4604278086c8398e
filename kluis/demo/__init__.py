"""`make demo`: the whole path at demo scale, through the same CLI a data steward uses.

Each stage is a module with `run(demo) -> list[str]` (its 'where to look' lines), run in the
order of `STAGES`. Everything lands under --out.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from rich.panel import Panel

from kluis.demo.context import Demo

STAGES = (
    "kluis.demo.extracts",  # warehouse, keys, both deliberations, both phases
    "kluis.demo.disclosure",  # small cell risk analysis of result tables
    "kluis.demo.review",  # checkers review the enclave's requests; signed, verified releases
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
    for stage in STAGES:
        where += importlib.import_module(stage).run(demo)
    demo.console.print(Panel.fit("\n".join(where), title="Where to look"))
