"""Data flow one way: no stage imports a later one, and the modules beside every stage import
no stage at all (README, "Layout")."""

from __future__ import annotations

import re
from pathlib import Path

import kluis

ORDER = (
    "schema codes",
    "warehouse",
    "deliberation",
    "pseudonym",
    "engine",
    "extract",
    "risk",
    "disclosure",
    "enclave safe",
    "review",
    "release",
    "retention",
)
RANK = {name: i for i, names in enumerate(ORDER) for name in names.split()}
BESIDE = {"errors", "home", "atomic", "yamlfile", "jsonfile", "highs", "digest", "audit", "access"}
IMPORT = re.compile(r"^\s*(?:from|import) kluis\.(\w+)", re.M)


def _imports() -> list[tuple[str, str, str]]:
    root = Path(kluis.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        top = path.relative_to(root).parts[0].removesuffix(".py")
        for target in IMPORT.findall(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(root)), top, target))
    return found


def test_no_stage_imports_a_later_one() -> None:
    wrong = [
        (path, target)
        for path, top, target in _imports()
        if top in RANK and target in RANK and RANK[target] > RANK[top]
    ]
    assert wrong == []


def test_the_modules_beside_the_stages_import_no_stage() -> None:
    wrong = [(path, target) for path, top, target in _imports() if top in BESIDE and target in RANK]
    assert wrong == []


def test_the_walk_sees_the_imports() -> None:
    """The check reads real imports (a walk that found none would pass everything)."""
    pairs = {(top, target) for _, top, target in _imports()}
    assert ("release", "disclosure") in pairs and ("enclave", "disclosure") in pairs
