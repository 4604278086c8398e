"""Demo stage: warehouse (generate, validate, profile) -> keys -> 26/104 and 24/074, both
phases, through the same CLI a data steward uses."""

from __future__ import annotations

import shutil
from pathlib import Path

from kluis.demo.context import Demo


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
        (  # the registry every "in force" check reads ($KLUIS_HOME/deliberations)
            "Register both deliberations",
            ["deliberation", "register", "deliberations/26-104.yaml", "deliberations/24-074.yaml"],
        ),
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


def run(demo: Demo) -> list[str]:
    """Run every step; return the 'where to look' lines."""
    # the demo's own keys: a re-run starts afresh like its home (`keys create` never replaces
    # a key, and the old one is catalogued in the home the setup stage wiped)
    shutil.rmtree(demo.out / "keystore", ignore_errors=True)
    for title, argv in steps(demo.out, demo.persons, demo.seed):
        demo.kluis(title, argv)
    out = demo.out
    return [
        f"Warehouse profile (table + charts):  {out}/profile/",
        f"26/104 development extract:          {out}/extracts/26-104-development/",
        f"26/104 full extract:                 {out}/extracts/26-104-full/manifest.json",
        f"24/074 scrambled fragment + report:  {out}/extracts/24-074-development/",
        f"24/074 full extract:                 {out}/extracts/24-074-full/",
        f"Pseudonym keys (never in extracts):  {out}/keystore/",
    ]
