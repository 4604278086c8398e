"""A table output as the checker sees it: a grid of cells coloured by status, with the reason
and the attacker's interval of every hidden cell.

Reads the two files the enclave writes per table output: the protected table (under outputs/,
what may leave) and the per-cell status file (under internal/: status, reason, the attacker's
interval per audited quantity, the protection needed). Values are kept as text and formatted
here; nothing is rendered as HTML (the templates escape every value).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: cells drawn at most per output page (the full list stays in the status file)
MAX_CELLS = 6000
STATUSES = ("safe", "primary", "secondary")
_SUFFIXES = ("_next", "_previous", "_prev", "_t1", "_code")


@dataclass(frozen=True)
class Cell:
    key: tuple[str, ...]  # one code per dimension
    status: str
    value: str  # formatted published value ('' when hidden)
    reason: str
    intervals: dict[str, tuple[str, str]]  # quantity -> attacker's (low, high)
    needed: dict[str, str]  # quantity -> protection needed (primary cells)
    certified: tuple[str, ...] = ()  # quantities protected per the audit, no exact interval
    unprotected: tuple[str, ...] = ()  # quantities the audit found NOT protected

    @property
    def hidden(self) -> bool:
        return self.status != "safe"

    @property
    def interval_text(self) -> str:
        several = len(self.intervals) + len(self.certified) > 1
        parts = [
            f"{q + ' ' if several else ''}[{lo}, {hi}]" for q, (lo, hi) in self.intervals.items()
        ]
        parts += [f"{q + ' ' if several else ''}certified" for q in self.certified]
        return "; ".join(parts)

    @property
    def title(self) -> str:
        """Hover text: status, reason, attacker's interval."""
        parts = [self.status]
        if self.reason:
            parts.append(self.reason)
        if self.intervals:
            parts.append(f"attacker's interval {self.interval_text}")
        if self.certified:
            parts.append(
                "the audit certified the protection without an exact interval (a bound "
                "computed from the true value would give it away)"
            )
        if self.unprotected:
            parts.append(f"NOT protected: {', '.join(self.unprotected)}")
        return " — ".join(parts)


@dataclass(frozen=True)
class Grid:
    """Two dimensions of the table at fixed values of the others (a layer)."""

    layer: str  # e.g. "sep = 21 Unemployed" or '' for a table of at most two dimensions
    row_dim: str
    col_dim: str
    columns: list[str]
    rows: list[tuple[str, list[Cell | None]]]


@dataclass
class TableView:
    dims: list[str]
    value_name: str
    cells: list[Cell]
    grids: list[Grid] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False

    @property
    def hidden(self) -> list[Cell]:
        order = {"primary": 0, "secondary": 1}
        return sorted((c for c in self.cells if c.hidden), key=lambda c: order.get(c.status, 2))


def fmt(text: str | None) -> str:
    """A number as a checker reads it: thousands separated, at most two decimals, infinity."""
    if text is None or text == "":
        return ""
    try:
        v = float(text)
    except ValueError:
        return text
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{round(v):,d}" if abs(v - round(v)) < 1e-9 else f"{v:,.2f}"  # never "-0"


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _dims(columns: list[str]) -> list[str]:
    """Dimension columns: those before `status`, without the hierarchy-level columns."""
    before = columns[: columns.index("status")] if "status" in columns else columns
    return [c for c in before if not c.endswith("_level")]


def labels_for(dim: str) -> dict[str, str]:
    """Code -> 'code label' when the dimension names one of kluis's code lists."""
    from kluis import codes

    known = set(codes.names())
    candidates = [dim] + [dim[: -len(s)] for s in _SUFFIXES if dim.endswith(s)]
    for name in candidates:
        if name in known:
            return {c: f"{c} {lab}" for c, lab in codes.load(name).labels().items()}
    return {}


def _quantities(columns: list[str]) -> list[str]:
    return [c[: -len("_attacker_low")] for c in columns if c.endswith("_attacker_low")]


def read_table(status_csv: Path, output_csv: Path | None) -> TableView:
    """The cells of a table output: status file joined with the published table by cell."""
    columns, status_rows = _read(status_csv)
    dims = _dims(columns)
    values: dict[tuple[str, ...], dict[str, str]] = {}
    value_name = ""
    if output_csv is not None and output_csv.is_file():
        out_cols, out_rows = _read(output_csv)
        measures = [c for c in out_cols if c not in dims and c != "status" and "_level" not in c]
        value_name = measures[-1] if measures else ""
        level_cols = [f"{d}_level" for d in dims if f"{d}_level" in out_cols]
        for r in out_rows:
            values[tuple(r.get(d, "") for d in dims) + tuple(r[c] for c in level_cols)] = r
    quantities = _quantities(columns)
    level_cols = [f"{d}_level" for d in dims if f"{d}_level" in columns]
    cells = []
    for r in status_rows:
        key = tuple(r.get(d, "") for d in dims)
        published = values.get(key + tuple(r[c] for c in level_cols), {})
        status = r.get("status", "")
        intervals, needed, certified, unprotected = {}, {}, [], []
        for q in quantities:
            lo, hi = r.get(f"{q}_attacker_low", ""), r.get(f"{q}_attacker_high", "")
            if lo or hi:
                intervals[q] = (fmt(lo), fmt(hi))
            elif r.get(f"{q}_interval") == "certified":
                certified.append(q)
            if r.get(f"{q}_needed"):
                needed[q] = fmt(r[f"{q}_needed"])
            if r.get(f"{q}_protected", "").lower() in ("no", "false", "0", "0.0"):
                unprotected.append(q)
        shown = "" if status != "safe" else fmt(published.get(value_name, ""))
        cells.append(
            Cell(
                key,
                status,
                shown,
                r.get("reason", ""),
                intervals,
                needed,
                tuple(certified),
                tuple(unprotected),
            )
        )
    view = TableView(dims=dims, value_name=value_name, cells=cells)
    view.counts = dict(Counter(c.status for c in cells))
    view.grids, view.truncated = _grids(dims, cells)
    return view


def _grids(dims: list[str], cells: list[Cell]) -> tuple[list[Grid], bool]:
    """One grid per combination of the dimensions after the first two (totals first)."""
    if not dims:
        return [], False
    labels = {d: labels_for(d) for d in dims}
    order = [list(dict.fromkeys(c.key[k] for c in cells)) for k in range(len(dims))]
    for codes in order:  # totals last within a dimension, as a reader expects
        codes.sort(key=lambda c: c == "Total")
    by_key = {c.key: c for c in cells}
    row_dim, col_dim = dims[0], dims[1] if len(dims) > 1 else ""
    col_codes = order[1] if len(dims) > 1 else [""]
    layers = list(itertools.product(*order[2:]))
    layers.sort(key=lambda lay: [c != "Total" for c in lay])  # the all-totals layer first
    grids, drawn = [], 0
    for layer in layers:
        if drawn >= MAX_CELLS:
            return grids, True
        rows = []
        for r in order[0]:
            keys = [(r, c, *layer) for c in col_codes] if col_dim else [(r,)]
            rows.append((labels[row_dim].get(r, r), [by_key.get(k) for k in keys]))
        drawn += len(order[0]) * len(col_codes)
        name = ", ".join(
            f"{d} = {labels[d].get(c, c)}" for d, c in zip(dims[2:], layer, strict=True)
        )
        cols = [labels[col_dim].get(c, c) for c in col_codes] if col_dim else ["value"]
        grids.append(Grid(name, row_dim, col_dim, cols, rows))
    return grids, False
