"""Primary rules: which cells may not be published as they are, and why.

Each rule is a small vectorised function over the cell statistics returning a boolean mask of
unsafe cells; `primary` runs them all and keeps, per cell, the first reason that fired and the
protection each published value needs (how far an attacker must stay unsure).

Group disclosure is about what the *other* cells say: a cell holding all persons of its group is
given away by the zeros beside it ("everybody in this row has category A"). So those zeros are
hidden too, and each must keep room to be more than zero, whatever else is published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kluis.disclosure.cells import CellTable
from kluis.disclosure.linear import TableStructure


@dataclass
class Primary:
    """Outcome of the primary rules for every cell."""

    unsafe: np.ndarray  # bool per cell
    reason: np.ndarray  # object: "" for safe cells, else the first failing rule
    up: dict[str, np.ndarray]  # per value system ("count", "total"): upper protection per cell
    lo: dict[str, np.ndarray]


def frequency(s: pd.DataFrame, n: int) -> np.ndarray:
    """Fewer than n distinct persons (rows do not count: a person with two jobs is one)."""
    p = s["persons"].to_numpy()
    return (p > 0) & (p < n)


def zero_cells(s: pd.DataFrame) -> np.ndarray:
    return s["persons"].to_numpy() == 0


def p_percent(s: pd.DataFrame, p: float, by: str) -> np.ndarray:
    """The rest of the cell (all but the two largest) is within p% of the largest contributor."""
    t1, t2 = s[f"top1_{by}"].to_numpy(), s[f"top2_{by}"].to_numpy()
    rest = s["total"].to_numpy() - t1 - t2
    return (t1 > 0) & (rest < p / 100.0 * t1 - 1e-9 * np.abs(t1))


def nk(s: pd.DataFrame, n: int, k: float, by: str) -> np.ndarray:
    """The n largest contributors hold more than k% of the cell."""
    top = s[f"top1_{by}"].to_numpy() + (s[f"top2_{by}"].to_numpy() if n == 2 else 0.0)
    total = s["total"].to_numpy()
    return (total > 0) & (top > k / 100.0 * total + 1e-9 * np.abs(total))


def same_value(s: pd.DataFrame) -> np.ndarray:
    """Every contributor has the same value: the cell mean is each person's value."""
    p = s["persons"].to_numpy()
    return (p > 1) & (s["vmin"].to_numpy() == s["vmax"].to_numpy())


def full_group(ts: TableStructure, s: pd.DataFrame, dims: list[int]) -> np.ndarray:
    """Group disclosure: a cell holds all persons of its group along an attribute dimension."""
    return _full_group(ts, s, dims)[0]


def _full_group(
    ts: TableStructure, s: pd.DataFrame, dims: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The cells holding all persons of their group, and the (empty) cells beside them in the
    same group, whose published zeros would say so."""
    coords = ts.coords()
    persons = s["persons"].to_numpy()
    out = np.zeros(ts.n_cells, dtype=bool)
    beside = np.zeros(ts.n_cells, dtype=bool)
    shape = ts.shape
    for k in dims:
        d = ts.dims[k]
        par = d.parent
        n_children = np.bincount(par[par >= 0], minlength=d.size)
        node = coords[:, k]
        pnode = par[node]
        has_parent = pnode >= 0
        stride = int(np.prod(shape[k + 1 :]))
        parent_cell = np.arange(ts.n_cells) + (pnode - node) * stride
        ok = has_parent & (n_children[np.where(has_parent, pnode, 0)] > 1)
        pc = np.where(ok, parent_cell, 0)
        hit = ok & (persons > 0) & (persons == persons[pc])
        out |= hit
        for c in np.flatnonzero(hit):  # few cells: the other children of the same parent
            kids = np.flatnonzero(par == pnode[c])
            beside[c + (kids[kids != node[c]] - node[c]) * stride] = True
    return out, beside & ~out


def extreme(s: pd.DataFrame, which: str, n: int) -> np.ndarray:
    """A minimum or maximum is one person's value unless at least n persons share it."""
    ties = s["ext_min_ties" if which == "min" else "ext_max_ties"].to_numpy()
    return (s["persons"].to_numpy() > 0) & (ties < n)


def quantile(s: pd.DataFrame, q: float, n: int) -> np.ndarray:
    """A percentile needs n persons and ceil(n/2) of them on each side of it."""
    p = s["persons"].to_numpy()
    side = np.ceil(n / 2)
    return (p > 0) & ((p < n) | (q * p < side) | ((1 - q) * p < side))


def primary(ct: CellTable) -> Primary:
    """Run every primary rule of the spec; the first reason per cell is kept."""
    spec, s, ts = ct.spec, ct.stats, ct.structure
    r = spec.rules
    n = r.min_frequency
    # (mask, reason, whether the count itself is what must be protected)
    checks: list[tuple[np.ndarray, str, bool]] = [
        (frequency(s, n), f"fewer than {n} persons", True)
    ]
    if r.zeros == "unsafe":
        checks.append((zero_cells(s), "zero cell", True))
    dominance_p = np.zeros(ct.n_cells)
    if spec.magnitude:
        for by in r.dominance_by:
            if f"top1_{'p' if by == 'person' else 'e'}" not in s:
                continue
            col = "p" if by == "person" else "e"
            if r.p_percent is not None:
                m = p_percent(s, r.p_percent, col)
                checks.append((m, f"p% rule ({r.p_percent:g}%) by {by}", False))
                need = (
                    r.p_percent / 100.0 * s[f"top1_{col}"].to_numpy()
                    - (
                        s["total"].to_numpy() - s[f"top1_{col}"].to_numpy() - s[f"top2_{col}"]
                    ).to_numpy()
                )
                dominance_p = np.maximum(dominance_p, np.where(m, need, 0.0))
            if r.nk is not None:
                why = f"({r.nk.n},{r.nk.k:g}) dominance by {by}"
                checks.append((nk(s, r.nk.n, r.nk.k, col), why, False))
        if r.group_disclosure:
            checks.append((same_value(s), "all contributors have the same value", False))
    # order statistics: the value is one person's unless n persons share it; hiding it hides
    # the cell, whose count (published beside it) the frequency rule protects like any count
    if spec.statistic in ("min", "max"):
        why = f"{spec.statistic} of fewer than {n} persons"
        checks.append((extreme(s, spec.statistic, n), why, False))
    if spec.statistic == "quantile":
        checks.append((quantile(s, spec.quantile, n), "percentile of a small group", False))
    if spec.statistic in ("min", "max", "quantile") and r.group_disclosure:
        # a minimum and a maximum table of the same cells (or two percentiles) that agree say
        # that everybody in the cell has that value: hidden like the mean of such a cell
        checks.append((same_value(s), "all contributors have the same value", False))
    zeros_beside = np.zeros(ct.n_cells, dtype=bool)
    if r.group_disclosure:
        names = [d.name for d in ts.dims]
        attrs = [names.index(a) for a in (r.attribute_dimensions or names)]
        whole, zeros_beside = _full_group(ts, s, attrs)
        checks.append((whole, "100% of its group", False))
        checks.append((zeros_beside, "zero beside a cell holding its whole group", False))

    unsafe = np.zeros(ct.n_cells, dtype=bool)
    unsafe_freq = np.zeros(ct.n_cells, dtype=bool)
    reason = np.full(ct.n_cells, "", dtype=object)
    for mask, why, on_count in checks:
        new = mask & ~unsafe
        reason[new] = why
        unsafe |= mask
        if on_count:
            unsafe_freq |= mask
    count = s["weighted"].to_numpy()
    prot_min = spec.protection_min()
    ratio = r.protection_ratio
    up = {"count": np.where(unsafe_freq, np.maximum(prot_min, ratio * count), 0.0)}
    # a hidden zero beside a full group must be able to be positive (one person is enough to
    # leave the attacker unsure that the whole group is in one category)
    up["count"] = np.where(zeros_beside & ~unsafe_freq, 1.0, up["count"])
    if spec.magnitude:
        total = np.abs(s["total"].to_numpy())
        up["total"] = np.where(unsafe, np.maximum(ratio * total, dominance_p), 0.0)
    lo = {k: v.copy() for k, v in up.items()}
    return Primary(unsafe=unsafe, reason=reason, up=up, lo=lo)
