"""The extract a project runs on, as the enclave sees it: which deliberation and phase, which
tables, and in each table the columns that identify who is counted.

The identity columns come from the deliberation, not from the researcher: in a person-year table
the pseudonymised person (`pseudonym.person`); in an employer-year-cell table the employer
(the contributor) and its count of employees (the `count` cell measure). The trusted side uses
them to count distinct persons and to make sure a query keeps them as they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq

from kluis.errors import BadInput, Refused

MANIFEST = "manifest.json"
Unit = Literal["person", "employer-cell", "employer"]


class ExtractError(BadInput):
    """A directory that is not a readable kluis extract."""


@dataclass(frozen=True)
class TableInfo:
    """One table of the extract (all years together: `year` is a column)."""

    name: str
    files: tuple[str, ...]  # relative to the extract
    columns: tuple[str, ...]
    unit: Unit
    key: tuple[str, ...]  # one row per key value
    person: str | None = None  # person sequence number (person tables)
    employer: str | None = None  # employer sequence number (employer tables)
    count: str | None = None  # persons per row (employer-cell tables: n_employees)

    def glob(self, root: Path | str) -> str:
        return f"{Path(root).as_posix()}/{self.name}/year=*/*.parquet"


@dataclass(frozen=True)
class ExtractInfo:
    path: Path
    manifest: dict
    manifest_sha256: str
    tables: dict[str, TableInfo]

    @property
    def deliberation(self) -> str:
        return str(self.manifest["deliberation"])

    @property
    def phase(self) -> Literal["development", "full"]:
        return self.manifest["phase"]

    @property
    def slug(self) -> str:
        return str(self.manifest.get("deliberation_slug") or self.deliberation.replace("/", "-"))

    def category_values(self) -> frozenset[str]:
        """Every category value of the extract's codebook (datapackage.json): labels that are
        public codes, not values read from the data."""
        return _category_values(self.path / "datapackage.json")

    def table(self, name: str) -> TableInfo:
        try:
            return self.tables[name]
        except KeyError:
            known = ", ".join(sorted(self.tables))
            raise KeyError(f"the extract has no table {name!r}; its tables: {known}") from None


def _identity(deliberation, name: str, columns: tuple[str, ...]) -> dict:
    """Unit, key and identity columns of table `name`, from the deliberation's tables."""
    person = next((v.name for v in deliberation.variables if v.source == "pseudonym.person"), None)
    year = ("year",) if "year" in columns else ()
    for t in deliberation.tables:
        if t.unit == "employer-year-cell" and name == t.name:
            count = next((m.name for m in t.cell_measures if m.aggregate == "count"), None)
            return {
                "unit": "employer-cell",
                "key": (t.employer, *year, *t.by),
                "employer": t.employer,
                "count": count,
            }
        if t.unit == "employer-year-cell" and name == f"{t.name}_employers":
            return {"unit": "employer", "key": (t.employer, *year), "employer": t.employer}
    if person is not None and person in columns:
        return {"unit": "person", "key": (person, *year), "person": person}
    raise ExtractError(f"table {name}: no identity column known from deliberation")


def load_extract(path: Path | str, deliberation) -> ExtractInfo:
    """Read the extract at `path` (manifest and table schemas). `deliberation` is the
    Deliberation object its manifest names (identity columns come from it)."""
    root = Path(path)
    mpath = root / MANIFEST
    try:
        raw = mpath.read_bytes()
        manifest = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise ExtractError(f"{mpath}: not a kluis extract ({exc})") from None
    if not isinstance(manifest, dict) or "deliberation" not in manifest:
        raise ExtractError(f"{mpath}: no deliberation named in the manifest")
    if manifest.get("phase") not in ("development", "full"):
        raise ExtractError(f"{mpath}: phase {manifest.get('phase')!r} is not development|full")
    tables: dict[str, TableInfo] = {}
    files = sorted(manifest.get("files", {}))
    for name in sorted(manifest.get("rows", {})):
        parts = tuple(f for f in files if f.startswith(f"{name}/year=") and f.endswith(".parquet"))
        if not parts:
            continue
        columns = tuple(pq.read_schema(root / parts[0]).names)
        tables[name] = TableInfo(
            name=name, files=parts, columns=columns, **_identity(deliberation, name, columns)
        )
    return ExtractInfo(
        path=root.absolute(),
        manifest=manifest,
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        tables=tables,
    )


def read_manifest(path: Path | str) -> dict:
    """The manifest of the extract at `path` (to find its deliberation before loading it)."""
    mpath = Path(path) / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtractError(f"{mpath}: not a kluis extract ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("deliberation"), str):
        raise ExtractError(f"{mpath}: no deliberation named in the manifest")
    return manifest


def check_verifies(path: Path | str) -> None:
    """Refuse an extract whose files do not match its manifest (altered, added, removed)."""
    from kluis.extract.delivery.publish import verify

    problems = verify(Path(path))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise Refused(
            f"{path}: the extract does not verify against its manifest: "
            + "; ".join(problems[:3])
            + more
        )


@cache
def _category_values(path: Path) -> frozenset[str]:
    try:
        pkg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    out: set[str] = set()
    for res in pkg.get("resources", []) if isinstance(pkg, dict) else []:
        for f in res.get("schema", {}).get("fields", []):
            for c in f.get("categories") or []:
                out.add(str(c.get("value")) if isinstance(c, dict) else str(c))
    return frozenset(out)
