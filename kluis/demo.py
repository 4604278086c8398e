"""`make demo`: the whole path at demo scale, through the same CLI a data steward uses.

warehouse (generate, validate, profile) -> keys -> 26/104 and 24/074, both phases ->
small cell risk analysis of a result table. Everything lands under --out.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from kluis.cli import app

console = Console()


def _run(title: str, args: list[str], *, ok_codes: tuple[int, ...] = (0,)) -> None:
    console.rule(f"[bold]{title}")
    console.print(f"[dim]$ kluis {shlex.join(args)}")
    start = time.perf_counter()
    try:
        app(args, standalone_mode=False)
        code = 0
    except SystemExit as exc:  # typer.Exit surfaces as click's exit in non-standalone mode
        code = int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - the demo reports and stops on any failure
        code = getattr(exc, "exit_code", 1)
        if code in ok_codes:
            pass
        else:
            console.print_exception(show_locals=False)
    if code not in ok_codes:
        console.print(f"[red]step failed with exit code {code}: {title}")
        sys.exit(code or 1)
    console.print(f"[green]done[/] in {time.perf_counter() - start:.1f} s")


def steps(out: Path, persons: int, seed: int) -> list[tuple[str, list[str]]]:
    """The demo as a list of CLI invocations."""
    wh = out / "warehouse"
    keys = out / "keystore"
    nbb = out / "nbb-enterprises.csv"
    ex = out / "extracts"
    today = "2026-11-22"
    common = ["--warehouse", str(wh), "--keystore", str(keys), "--today", today]
    return [
        (
            "Generate a demo-scale warehouse",
            [
                "warehouse",
                "generate",
                "--persons",
                str(persons),
                "--years",
                "2003-2026",
                "--seed",
                str(seed),
                "--out",
                str(wh),
            ],
        ),
        ("Validate it", ["warehouse", "validate", str(wh)]),
        (
            "Profile it against the calibration targets",
            ["warehouse", "profile", str(wh), "--out", str(out / "profile")],
        ),
        ("Check deliberation 26/104", ["deliberation", "check", "deliberations/26-104.yaml"]),
        ("Check deliberation 24/074", ["deliberation", "check", "deliberations/24-074.yaml"]),
        (
            "Create the 26/104 key",
            ["keys", "create", "deliberations/26-104.yaml", "--keystore", str(keys)],
        ),
        (
            "Create the 24/074 key",
            ["keys", "create", "deliberations/24-074.yaml", "--keystore", str(keys)],
        ),
        (
            "26/104 phase 1: development sample",
            [
                "extract",
                "deliberations/26-104.yaml",
                *common,
                "--phase",
                "development",
                "--out",
                str(ex / "26-104-development"),
                "--format",
                "parquet,sav,dta",
            ],
        ),
        (
            "26/104 phase 2: full population",
            [
                "extract",
                "deliberations/26-104.yaml",
                *common,
                "--phase",
                "full",
                "--out",
                str(ex / "26-104-full"),
            ],
        ),
        (
            "Synthetic National Bank enterprise list",
            [
                "warehouse",
                "nbb-list",
                "--warehouse",
                str(wh),
                "--out",
                str(nbb),
                "--seed",
                str(seed),
            ],
        ),
        (
            "24/074 phase 1: scrambled fragment",
            [
                "extract",
                "deliberations/24-074.yaml",
                *common,
                "--enterprises",
                str(nbb),
                "--phase",
                "development",
                "--out",
                str(ex / "24-074-development"),
            ],
        ),
        (
            "24/074 phase 2: all listed enterprises",
            [
                "extract",
                "deliberations/24-074.yaml",
                *common,
                "--enterprises",
                str(nbb),
                "--phase",
                "full",
                "--out",
                str(ex / "24-074-full"),
            ],
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for title, argv in steps(args.out, args.persons, args.seed):
        _run(title, argv)
    from kluis.demo_disclosure import run_disclosure_demo

    console.rule("[bold]Small cell risk analysis of a phase-2 result")
    report = run_disclosure_demo(args.out)
    console.print(Panel.fit(_where_to_look(args.out, report), title="Where to look"))


def _where_to_look(out: Path, report: Path) -> str:
    return "\n".join(
        [
            f"Warehouse profile (table + charts):  {out}/profile/",
            f"26/104 development extract:          {out}/extracts/26-104-development/ ",
            f"26/104 full extract:                 {out}/extracts/26-104-full/manifest.json",
            f"24/074 scrambled fragment + report:  {out}/extracts/24-074-development/",
            f"24/074 full extract:                 {out}/extracts/24-074-full/",
            f"Disclosure check report (HTML):      {report}",
            f"Pseudonym keys (never in extracts):  {out}/keystore/",
        ]
    )


if __name__ == "__main__":
    main()
