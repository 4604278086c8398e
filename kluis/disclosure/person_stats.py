"""Cell statistics from per-record numpy arrays: binning, margins and persons in several cells.

Most persons have one record, or all their records in one leaf cell: their contributions to a
margin are their contributions to its leaves, so margins follow from leaf sums (`rollup`). Only
the persons found in several leaf cells (two jobs in different cells) are aggregated per (margin
cell, person) for every combination of levels (`margin_stats`), where a person counts once and
their values add up. Everything is vectorised numpy on the columns DuckDB fetched (cells.py).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from kluis.disclosure.linear import TableStructure
from kluis.disclosure.source import DataError


def person_stats(
    ts: TableStructure, cell: np.ndarray, pid: np.ndarray, extra: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Count/sum/mean statistics of every cell from the leaf cell and dense person id of every
    record, and per record its value `s`, weight `w` and cell-key number `rk` when present."""
    several = several_records(pid)
    n_cells = ts.n_cells
    # everybody with one record: binned as they are (the others go to a spare bin, n_cells)
    leaf = leaf_arrays(n_cells, np.where(several, n_cells, cell), None, extra)
    if several.any():
        # (person, leaf cell) pairs of persons with several records: their records summed
        idx = np.flatnonzero(several)
        order = idx[np.lexsort((cell[idx], pid[idx]))]
        p_s, c_s = pid[order], cell[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (p_s[1:] != p_s[:-1]) | (c_s[1:] != c_s[:-1])
        start = np.flatnonzero(new)
        pairs = {
            "pid": p_s[start],
            "cell": c_s[start],
            "n": np.diff(np.append(start, order.size)).astype(float),
        }
        for k, v in extra.items():
            pairs[k] = (np.add if k == "s" else np.maximum).reduceat(v[order], start)
        # a person whose pairs span several leaf cells goes through margin_stats
        spread = np.zeros(start.size, dtype=bool)
        same = pairs["pid"][1:] == pairs["pid"][:-1]
        spread[1:] |= same
        spread[:-1] |= same
        keep = {k: v[~spread] for k, v in pairs.items()}
        more = leaf_arrays(
            n_cells, keep["cell"], keep["n"], {k: keep[k] for k in extra if k in keep}
        )
        leaf = combine(leaf, more)
    stats = rollup(ts, leaf_frame(leaf, n_cells))
    if several.any() and spread.any():
        sel = {k: v[spread] for k, v in pairs.items()}
        stats = merge_stats(stats, margin_stats(ts, sel))
    return stats


def several_records(pid: np.ndarray) -> np.ndarray:
    """Per record: does its person have other records too?"""
    if pid.size == 0:
        return np.zeros(0, dtype=bool)
    lo, hi = int(pid.min()), int(pid.max())
    if hi - lo <= 4 * pid.size + 1024:  # dense ids: count them directly
        counts = np.bincount(pid - lo)
        return counts[pid - lo] > 1
    srt = np.sort(pid)
    dup = srt[1:][srt[1:] == srt[:-1]]
    if dup.size == 0:
        return np.zeros(pid.size, dtype=bool)
    dup = dup[np.concatenate(([True], dup[1:] != dup[:-1]))]
    pos = np.minimum(np.searchsorted(dup, pid), dup.size - 1)
    return dup[pos] == pid


def margin_stats(ts: TableStructure, pairs: dict[str, np.ndarray]) -> pd.DataFrame:
    """Statistics of every cell (margins included) over persons given per (person, leaf cell),
    sorted by person.

    For each combination of levels (the GROUPING SETS of the table) the leaf cells map to the
    cells of that combination; a person's pairs that land in the same cell are summed first, so
    a person counts once per cell and their values add up (what the dominance rules need).
    """
    pid, cell = pairs["pid"], pairs["cell"]
    extra = {k: v for k, v in pairs.items() if k in ("s", "w", "rk")}
    coords = ts.coords()[cell]
    strides = [int(np.prod(ts.shape[k + 1 :])) for k in range(len(ts.dims))]
    per_dim = []
    for k, d in enumerate(ts.dims):
        anc = d.leaf_ancestors()  # leaf -> node at each level, the total last when present
        per_dim.append([anc[coords[:, k], j] * strides[k] for j in range(anc.shape[1])])
    # person rank (pairs come sorted by person): small keys, so (person, cell) fits one int64
    rank = np.cumsum(np.concatenate(([0], (pid[1:] != pid[:-1]).astype(np.int64))))
    total = None
    for combo in itertools.product(*per_dim):
        gc = np.sum(combo, axis=0)
        # already sorted by person; a stable sort only reorders within each person
        order = np.argsort(rank * ts.n_cells + gc, kind="stable")
        r_o, g_o = rank[order], gc[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (r_o[1:] != r_o[:-1]) | (g_o[1:] != g_o[:-1])
        start = np.flatnonzero(new)
        part = leaf_arrays(
            ts.n_cells,
            g_o[start],
            np.add.reduceat(pairs["n"][order], start),
            {
                k: (np.add if k == "s" else np.maximum).reduceat(v[order], start)
                for k, v in extra.items()
            },
        )
        # each cell belongs to exactly one combination of levels: the parts do not overlap
        total = part if total is None else combine(total, part)
    return leaf_frame(total, ts.n_cells)


def dense_ids(pid: np.ndarray, where: str, column: str | None) -> np.ndarray:
    """Person ids as int64 (equal ids stay equal, different ids stay different)."""
    if np.ma.isMaskedArray(pid) and np.ma.getmaskarray(pid).any():
        n = int(np.ma.getmaskarray(pid).sum())
        raise DataError(f"{where}: column {column} has {n} empty value(s)")
    pid = np.asarray(pid)
    if pid.dtype.kind == "i" or (pid.dtype.kind == "u" and (pid.size == 0 or pid.max() < 2**63)):
        return pid.astype(np.int64, copy=False)
    return pd.factorize(pid)[0].astype(np.int64)


def leaf_arrays(
    n_cells: int, cell: np.ndarray, n: np.ndarray | None, extra: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per cell: statistics over contributors that each sit in that one cell only.

    `cell` may hold n_cells (a spare bin, ignored); `n` records per contributor (None: one);
    `extra` the contributor's value `s`, weight `w` and cell-key number `rk` when there are any.
    """
    m = n_cells + 1
    persons = np.bincount(cell, minlength=m)[:n_cells].astype(float)
    out = {
        "persons": persons,
        "rows": persons if n is None else np.bincount(cell, weights=n, minlength=m)[:n_cells],
        "weighted": persons,
        "total": np.zeros(n_cells),
        "cell_key": np.zeros(n_cells),
    }
    if "w" in extra:
        out["weighted"] = np.bincount(cell, weights=extra["w"], minlength=m)[:n_cells]
    if "rk" in extra:
        out["cell_key"] = np.bincount(cell, weights=extra["rk"], minlength=m)[:n_cells]
    if "s" not in extra:  # no response: every contributor's value is 0
        zero = np.where(persons > 0, 0.0, np.nan)
        out.update(vmin=zero, vmax=zero.copy(), top1_p=np.zeros(n_cells), top2_p=np.zeros(n_cells))
        return out
    s = extra["s"]
    out["total"] = np.bincount(cell, weights=s, minlength=m)[:n_cells]
    vmin = np.full(m, np.inf)
    np.minimum.at(vmin, cell, s)
    vmax = np.full(m, -np.inf)
    np.maximum.at(vmax, cell, s)
    # second largest: drop one occurrence of each cell's largest value, take the largest again
    at_max = np.flatnonzero(s == vmax[cell])
    first = np.full(m, cell.size)
    np.minimum.at(first, cell[at_max], at_max)
    rest = s.copy()
    rest[first[first < cell.size]] = -np.inf
    top2 = np.full(m, -np.inf)
    np.maximum.at(top2, cell, rest)
    vmin, vmax, top2 = vmin[:n_cells], vmax[:n_cells], top2[:n_cells]
    out["top1_p"] = np.where(persons > 0, vmax, 0.0)
    out["top2_p"] = np.where(persons > 1, top2, 0.0)
    out["vmin"] = np.where(persons > 0, vmin, np.nan)
    out["vmax"] = np.where(persons > 0, vmax, np.nan)
    return out


def combine(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Statistics of two disjoint sets of contributors, per cell."""
    out = {c: a[c] + b[c] for c in ("persons", "rows", "weighted", "total", "cell_key")}
    out["vmin"] = np.fmin(a["vmin"], b["vmin"])
    out["vmax"] = np.fmax(a["vmax"], b["vmax"])
    tops = np.sort(np.stack([a["top1_p"], a["top2_p"], b["top1_p"], b["top2_p"]]), axis=0)
    out["top1_p"], out["top2_p"] = tops[-1], tops[-2]
    return out


def leaf_frame(arrs: dict[str, np.ndarray], n_cells: int) -> pd.DataFrame:
    cols = ["persons", "rows", "weighted", "total", "top1_p", "top2_p", "vmin", "vmax"]
    frame = pd.DataFrame({"cell": np.arange(n_cells), **{c: arrs[c] for c in cols}})
    frame["cell_key"] = arrs["cell_key"]
    return frame[arrs["persons"] > 0]


def rollup(ts: TableStructure, leaf: pd.DataFrame) -> pd.DataFrame:
    """Margins and hierarchy levels from leaf statistics when each person has one leaf cell.

    Sums add up; a margin's largest contributor is the largest of its children's, and its second
    largest is the second of the children's two largest (a person contributes to one child only).
    """
    shape = ts.shape
    idx = leaf["cell"].to_numpy(dtype=np.int64)
    init = {
        "persons": 0.0,
        "rows": 0.0,
        "weighted": 0.0,
        "total": 0.0,
        "cell_key": 0.0,
        "top1_p": 0.0,
        "top2_p": 0.0,
        "vmin": np.inf,
        "vmax": -np.inf,
    }
    arrs = {}
    for c, v0 in init.items():
        a = np.full(ts.n_cells, v0)
        a[idx] = leaf[c].to_numpy(dtype=float, na_value=v0)
        arrs[c] = a.reshape(shape)
    for k, d in enumerate(ts.dims):
        par = d.parent
        for node in range(d.size):
            kids = np.flatnonzero(par == node)
            if kids.size == 0:
                continue
            sl = [slice(None)] * len(shape)
            sl[k] = node
            sl = tuple(sl)
            for c in ("persons", "rows", "weighted", "total", "cell_key"):
                arrs[c][sl] = np.take(arrs[c], kids, axis=k).sum(axis=k)
            arrs["vmin"][sl] = np.take(arrs["vmin"], kids, axis=k).min(axis=k)
            arrs["vmax"][sl] = np.take(arrs["vmax"], kids, axis=k).max(axis=k)
            both = np.concatenate(
                [np.take(arrs["top1_p"], kids, axis=k), np.take(arrs["top2_p"], kids, axis=k)],
                axis=k,
            )
            both = np.sort(both, axis=k)
            arrs["top1_p"][sl] = np.take(both, -1, axis=k)
            arrs["top2_p"][sl] = np.take(both, -2, axis=k)
    out = pd.DataFrame({c: a.ravel() for c, a in arrs.items()})
    out["cell_key"] = out["cell_key"] % 1.0
    out["vmin"] = out["vmin"].where(np.isfinite(out["vmin"]))
    out["vmax"] = out["vmax"].where(np.isfinite(out["vmax"]))
    out["quant"] = np.nan
    out["ext_min_ties"] = 0.0
    out["ext_max_ties"] = 0.0
    out.insert(0, "cell", np.arange(ts.n_cells))
    return out[out["persons"] > 0]


def merge_stats(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Statistics of two disjoint sets of persons, per cell."""
    m = a.merge(b, on="cell", how="outer", suffixes=("", "_b"))
    for c in ("persons", "rows", "weighted", "total", "cell_key"):
        m[c] = m[c].fillna(0) + m[c + "_b"].fillna(0)
    m["cell_key"] = m["cell_key"] % 1.0
    m["vmin"] = np.fmin(m["vmin"], m["vmin_b"])
    m["vmax"] = np.fmax(m["vmax"], m["vmax_b"])
    tops = np.sort(
        m[["top1_p", "top2_p", "top1_p_b", "top2_p_b"]].fillna(0.0).to_numpy(dtype=float), axis=1
    )
    m["top1_p"], m["top2_p"] = tops[:, -1], tops[:, -2]
    return m[[c for c in a.columns]]


def complete(stats: pd.DataFrame, n_cells: int) -> pd.DataFrame:
    """One row per cell (empty cells included), with the top-2 lists split into columns."""
    out = pd.DataFrame(index=pd.RangeIndex(n_cells, name="cell"))
    stats = stats.set_index("cell").reindex(out.index)
    zero_fill = ["persons", "rows", "weighted", "total", "top1_p", "top2_p"]
    zero_fill += ["ext_min_ties", "ext_max_ties", "employers", "top1_e", "top2_e"]
    for c in stats.columns:
        v = stats[c].to_numpy(dtype=float, na_value=np.nan)
        out[c] = np.nan_to_num(v, nan=0.0) if c in zero_fill else v
    return out
