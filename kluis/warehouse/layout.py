"""Where a warehouse keeps its files: the one place that knows the on-disk layout.

``<dir>/<table>/year=YYYY/part-0.parquet`` for by-year tables, ``<dir>/<table>/part-0.parquet``
otherwise, and ``<dir>/warehouse.json`` with the metadata (id, seed, persons, years, generator).
Every reader and writer goes through these functions so the layout can change in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from kluis.digest import sha256_file
from kluis.errors import BadInput
from kluis.schema import table as schema_table

META_FILE = "warehouse.json"
PART_FILE = "part-0.parquet"
_YEAR_DIR = re.compile(r"^year=(\d{4})$")

__all__ = [
    "META_FILE",
    "PART_FILE",
    "table_dir",
    "table_path",
    "table_years",
    "read_meta",
    "write_meta",
    "warehouse_id",
    "WarehouseLayoutError",
]


class WarehouseLayoutError(BadInput):
    """The directory is not a (complete) kluis warehouse."""


def table_dir(directory: Path | str, table: str) -> Path:
    """The directory of `table` (raises KeyError for an unknown table)."""
    schema_table(table)
    return Path(directory) / table


def table_path(directory: Path | str, table: str, year: int | None = None) -> Path:
    """The Parquet file of `table` (of `year` for by-year tables)."""
    t = schema_table(table)
    if t.by_year and year is None:
        raise ValueError(f"table {table} is stored by year: give a year")
    if not t.by_year and year is not None:
        raise ValueError(f"table {table} is not stored by year")
    base = Path(directory) / table
    if year is not None:
        return base / f"year={int(year)}" / PART_FILE
    return base / PART_FILE


def table_years(directory: Path | str, table: str) -> list[int]:
    """The years present on disk for a by-year table, sorted."""
    base = table_dir(directory, table)
    if not base.is_dir():
        return []
    years = []
    for child in base.iterdir():
        m = _YEAR_DIR.match(child.name)
        if m and (child / PART_FILE).is_file():
            years.append(int(m.group(1)))
    return sorted(years)


def read_meta(directory: Path | str) -> dict:
    """The metadata of the warehouse in `directory` (clear error when missing or malformed)."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise WarehouseLayoutError(f"{path}: not found; is {directory} a kluis warehouse?")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WarehouseLayoutError(
            f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WarehouseLayoutError(f"{path}: cannot read: {exc}") from None
    if not isinstance(meta, dict):
        raise WarehouseLayoutError(f"{path}: must be a JSON object")
    for key in ("id", "seed", "persons", "years", "generator"):
        if key not in meta:
            raise WarehouseLayoutError(f"{path}: missing field {key!r}")
    years = meta["years"]
    if not (
        isinstance(years, list)
        and len(years) == 2
        and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
        and years[0] <= years[1]
    ):
        raise WarehouseLayoutError(f"{path}: field 'years' must be [first, last] (two years)")
    return meta


def write_meta(directory: Path | str, meta: dict) -> Path:
    """Write warehouse.json (sorted keys, fixed indentation: byte-stable)."""
    path = Path(directory) / META_FILE
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def file_digests(directory: Path | str) -> dict[str, str]:
    """sha256 of every Parquet file, keyed by its path relative to `directory` (sorted)."""
    root = Path(directory)
    out = {}
    for path in sorted(root.rglob("*.parquet")):
        out[path.relative_to(root).as_posix()] = sha256_file(path)
    return out


def warehouse_id(digests: dict[str, str]) -> str:
    """A content-derived id: sha256 over the sorted (path, file digest) list, 16 hex digits.

    Two warehouses share an id exactly when their data files are identical.
    """
    h = hashlib.sha256()
    for rel in sorted(digests):
        h.update(f"{rel}\t{digests[rel]}\n".encode())
    return "wh-" + h.hexdigest()[:16]
