"""The release record of a protected table: what the release history needs to audit later
tables against it, self-contained in one directory.

A record holds the table's structure (dimensions, code lists, hierarchy levels), every cell's
true value, whether and how it was published and the protection it needed (counts, and response
totals for magnitude tables), and its *population by what it is*: the persons it covers, each in
its leaf cell (person, cell, records, value, weight). The label and the filter that made the
population are kept for people to read; the audit never links by them.

A record contains true values and pseudonymised person numbers: it is internal to the checker
and never leaves (see NOT-FOR-RELEASE.txt written beside it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kluis import atomic
from kluis.disclosure.linear import Dimension, TableStructure
from kluis.disclosure.persons import addressable
from kluis.errors import BadInput
from kluis.jsonfile import read_json

FORMAT = 2
NOTICE = (
    "INTERNAL - NOT FOR RELEASE.\n"
    "A kluis release record: the true value of every cell (hidden ones included) and the\n"
    "pseudonymised persons of the table. Only the checker and the release history read it.\n"
)


class RecordError(BadInput, ValueError):
    """A release record that cannot be read (names the directory and what is wrong)."""


@dataclass
class Record:
    """A release record read back from its directory."""

    path: Path
    meta: dict[str, Any]
    structure: TableStructure
    cells: pd.DataFrame  # one row per cell, in cell order
    members: pd.DataFrame | None  # person, cell, n, s, w (None: aggregated input)

    @property
    def name(self) -> str:
        return self.meta["name"]


def person_numbers(pid: np.ndarray) -> np.ndarray:
    """One int64 per person id, the same in every table: integer ids as they are (also when
    given as text), other ids by a stable 64-bit hash of their text."""
    pid = np.asarray(pid)
    if pid.dtype.kind in "iu":
        return pid.astype(np.int64)
    as_int = pd.to_numeric(pd.Series(pid, dtype=object), errors="coerce")
    if not as_int.isna().any() and (as_int == np.floor(as_int)).all():
        return as_int.to_numpy(dtype=np.int64)
    text = pd.Series(pid, dtype=object).astype(str).to_numpy(dtype=object)
    return pd.util.hash_array(text).view(np.int64)


def _by_person(person: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Row order by (person, cell): linear when every person has one row and the numbers are
    dense (pseudonymised sequence numbers, the usual table), else a sort."""
    lo = addressable([person])
    if lo is not None:
        slot = np.full(int(person.max()) - lo + 1, -1, dtype=np.int64)
        slot[person - lo] = np.arange(person.size)
        order = slot[slot >= 0]
        if order.size == person.size:  # nobody twice
            return order
    return np.lexsort((cell, person))


def members(pt: Any) -> pd.DataFrame | None:
    """Distinct (person, leaf cell) of a protected table with its records, summed value and
    weight; None for aggregated input."""
    if getattr(pt, "members", None) is not None:
        return pt.members
    units = pt.cells.units
    if units is None:
        return None
    person = person_numbers(units.pid)
    cell = units.cell
    order = _by_person(person, cell)
    p, c = person[order], cell[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (c[1:] != c[:-1])
    start = np.flatnonzero(new)
    out = pd.DataFrame(
        {
            "person": p[start],
            "cell": c[start],
            "n": np.diff(np.append(start, order.size)).astype(np.int64),
        }
    )
    if units.s is not None:
        out["s"] = np.add.reduceat(units.s[order], start) if start.size else units.s[:0]
    if units.w is not None:
        out["w"] = np.maximum.reduceat(units.w[order], start) if start.size else units.w[:0]
    if hasattr(pt, "members"):
        pt.members = out
    return out


def _dims_json(ts: TableStructure) -> list[dict]:
    return [
        {
            "name": d.name,
            "codes": list(d.codes),
            "levels": [[n, [list(x) for x in m]] for n, m in d.levels],
            "total": d.total,
        }
        for d in ts.dims
    ]


def _system_columns(pt: Any) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for s in pt.systems:
        low, high = pt.pub_low.get(s.name), pt.pub_high.get(s.name)
        shown = pt.published.get(s.name, s.values)
        out[s.name] = s.values
        out[f"{s.name}_published"] = ~pt.hidden
        out[f"{s.name}_low"] = np.where(pt.hidden, np.nan, shown if low is None else low)
        out[f"{s.name}_high"] = np.where(pt.hidden, np.nan, shown if high is None else high)
        out[f"{s.name}_up"] = np.where(pt.hidden, s.up, 0.0)
        out[f"{s.name}_lo"] = np.where(pt.hidden, s.lo, 0.0)
    return out


def count_basis(pt: Any) -> str:
    """What a published count counts: distinct persons, records, or weighted persons."""
    if pt.spec.weight is not None:
        return "weighted"
    if pt.systems and not np.array_equal(
        pt.systems[0].values, pt.cells.stats["persons"].to_numpy(dtype=float)
    ):
        return "records"
    return "persons"


def _meta(pt: Any) -> dict[str, Any]:
    spec = pt.spec
    r = spec.rules
    return {
        "format": FORMAT,
        "name": spec.name,
        "population": spec.population,
        "filter": spec.population_filter,
        "deliberation": getattr(pt, "deliberation", None),
        "statistic": spec.statistic,
        "response": spec.response,
        "weight": spec.weight,
        "count_basis": count_basis(pt),
        "method": pt.method,
        "rules": {
            "min_frequency": r.min_frequency,
            "protection_ratio": r.protection_ratio,
            "protection_min": spec.protection_min(),
        },
        "may_be_released": bool(pt.ok),
        "dims": _dims_json(pt.cells.structure),
    }


def record_of(pt: Any, path: str | Path = "(new table)") -> Record:
    """The release record of a protected table, in memory (what write_record writes)."""
    cells = pd.DataFrame(_system_columns(pt))
    return Record(Path(path), _meta(pt), pt.cells.structure, cells, members(pt))


def write_record(pt: Any, directory: str | Path) -> Path:
    """Write the release record of protected table `pt` into `directory` (created; each file
    written atomically, meta.json last: a directory without it is not a record). Returns the
    directory."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    rec = record_of(pt, d)
    atomic.write_text(d / "NOT-FOR-RELEASE.txt", NOTICE)
    _write_parquet(d / "cells.parquet", rec.cells)
    if rec.members is not None:
        _write_parquet(d / "members.parquet", rec.members)
    atomic.write_text(d / "meta.json", json.dumps(rec.meta, indent=1, sort_keys=True) + "\n")
    return d


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic.write_bytes(path, buf.getvalue())


def read_record(directory: str | Path) -> Record:
    """Read a record written by `write_record`; RecordError when it is not one."""
    d = Path(directory)
    try:
        meta = read_json(d / "meta.json")
        dims = tuple(
            Dimension(
                name=x["name"],
                codes=tuple(x["codes"]),
                levels=tuple((n, tuple(tuple(p) for p in m)) for n, m in x["levels"]),
                total=x["total"],
            )
            for x in meta["dims"]
        )
        cells = pd.read_parquet(d / "cells.parquet")
        mem_path = d / "members.parquet"
        mem = pd.read_parquet(mem_path) if mem_path.exists() else None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RecordError(f"{d}: not a readable kluis release record ({e})") from None
    if meta.get("format") != FORMAT:
        raise RecordError(f"{d}: release record format {meta.get('format')}, expected {FORMAT}")
    ts = TableStructure(dims)
    if len(cells) != ts.n_cells:
        raise RecordError(f"{d}: {len(cells)} cells recorded, the structure has {ts.n_cells}")
    return Record(d, meta, ts, cells, mem)
