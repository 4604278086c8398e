"""warehouse.json: present, well-formed, and saying the same as the files (years, partitions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kluis.schema import FIRST_YEAR, LAST_YEAR, TABLES
from kluis.warehouse.checks.files import Inventory
from kluis.warehouse.checks.problems import Example, Problem
from kluis.warehouse.layout import META_FILE, file_digests, warehouse_id

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "seed": int,
    "persons": int,
    "years": list,
    "generator": str,
}


def _problem(check: str, message: str, value: Any = None) -> Problem:
    ex = (Example(file=META_FILE, row=None, value=None if value is None else str(value)),)
    return Problem(check, "error", None, None, message, 1, ex)


def read_meta(root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The parsed warehouse.json (None when unusable) and what is wrong with it."""
    path = root / META_FILE
    if not path.is_file():
        return None, [_problem("meta_missing", f"{META_FILE} is missing")]
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [_problem("meta_invalid", f"{META_FILE} is not valid JSON: {exc}")]
    if not isinstance(meta, dict):
        return None, [_problem("meta_invalid", f"{META_FILE} must hold a JSON object")]
    problems = []
    for name, kind in _FIELDS.items():
        if name not in meta:
            problems.append(_problem("meta_invalid", f"{META_FILE} has no field {name!r}"))
        elif not isinstance(meta[name], kind) or isinstance(meta[name], bool):
            problems.append(
                _problem(
                    "meta_invalid",
                    f"{META_FILE} field {name!r} is not a {kind.__name__}",
                    meta[name],
                )
            )
    years = meta.get("years")
    if isinstance(years, list):
        ok = len(years) == 2 and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
        if not ok or not FIRST_YEAR <= years[0] <= years[1] <= LAST_YEAR:
            problems.append(
                _problem(
                    "meta_invalid",
                    f"{META_FILE} years must be [first, last] within {FIRST_YEAR}-{LAST_YEAR}",
                    years,
                )
            )
    return (None if problems else meta), problems


def partition_problems(inv: Inventory, first: int, last: int) -> list[Problem]:
    """Each by-year table must have exactly the partitions year=first..last."""
    problems = []
    want = set(range(first, last + 1))
    for t in TABLES:
        if not t.by_year or not (inv.root / t.name).is_dir():
            continue
        have = {p.name for p in (inv.root / t.name).iterdir() if p.is_dir()}
        have_years = {int(n[5:]) for n in have if n.startswith("year=") and n[5:].isdigit()}
        for y in sorted(want - have_years):
            problems.append(
                Problem(
                    "partition_missing",
                    "error",
                    t.name,
                    "year",
                    f"no partition {t.name}/year={y}/ although {META_FILE} says the "
                    f"warehouse covers {first}-{last}",
                    1,
                    (Example(file=f"{t.name}/year={y}", row=None, value=str(y)),),
                )
            )
        for y in sorted(have_years - want):
            problems.append(
                Problem(
                    "partition_unexpected",
                    "error",
                    t.name,
                    "year",
                    f"partition {t.name}/year={y}/ lies outside the years {first}-{last} "
                    f"of {META_FILE}",
                    1,
                    (Example(file=f"{t.name}/year={y}", row=None, value=str(y)),),
                )
            )
    return problems


def id_problems(root: Path, meta: dict[str, Any]) -> list[Problem]:
    """The id in warehouse.json must be the one derived from the Parquet files' content, so an
    extract can name exactly which warehouse it came from."""
    actual = warehouse_id(file_digests(root))
    if meta.get("id") == actual:
        return []
    return [
        _problem(
            "meta_id",
            f"{META_FILE} id {meta.get('id')!r} does not match the content of the Parquet files "
            f"({actual}): files were changed, added or removed after {META_FILE} was written",
            meta.get("id"),
        )
    ]
