"""The attacker's audit: how precisely can each hidden cell be recomputed from what is published?

Given the table relations (M x = 0), the published values (exact, or known only within an interval
after rounding or noise), and what everybody knows (a count is never negative), the attacker's
knowledge about a hidden cell is the interval [min x_i, max x_i] over the feasible polytope. This
module computes those intervals with linear programming and checks them against the protection
each unsafe cell needs. It shares nothing with the suppression code, so it checks that code.

Speed: hidden cells only interact through relations that contain at least two of them, so the LP
splits into connected components; per component one HiGHS model is built once and re-solved with a
changed objective (warm start), and every LP solution is used as a witness for all other cells of
the component (a feasible point that already shows a cell can reach its protection bound spares
that cell's own LP).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

INF = highspy.kHighsInf


@dataclass
class Intervals:
    """Attacker's bounds for every cell (published cells: their published interval)."""

    low: np.ndarray
    high: np.ndarray
    exact: np.ndarray  # bool: the bound pair was computed, not only witnessed
    n_lp: int = 0
    n_components: int = 0
    largest_component: int = 0


def components(m: sp.csr_matrix, var: np.ndarray) -> tuple[int, np.ndarray, sp.csr_matrix]:
    """Connected components of the variable cells linked by shared relations."""
    sub = m[:, var].tocsr()
    sub = sub[np.diff(sub.indptr) > 0]
    pattern = sub.copy()
    pattern.data = np.ones_like(pattern.data)
    adj = (pattern.T @ pattern).tocsr()
    n, labels = connected_components(adj, directed=False)
    return n, labels, sub


def attack(
    m: sp.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    lower: np.ndarray | float = 0.0,
    pub_low: np.ndarray | None = None,
    pub_high: np.ndarray | None = None,
    target_high: np.ndarray | None = None,
    target_low: np.ndarray | None = None,
) -> Intervals:
    """Feasible interval of every hidden cell.

    `hidden` is a boolean mask. Published cells are fixed to `values`, or kept within
    [pub_low, pub_high] when given (rounded or noisy publication). With `target_high/low` the
    attacker only needs to decide whether each hidden cell reaches those bounds: an LP is then
    skipped for cells whose targets were already witnessed; the returned bounds are then exact
    only where `exact` is set, and otherwise at least as wide as the targets.
    """
    n_cells = values.size
    values = np.asarray(values, dtype=float)
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (n_cells,))
    fuzzy = np.zeros(n_cells, dtype=bool)
    if pub_low is not None:
        fuzzy = (~hidden) & ((pub_low < values) | (pub_high > values))
    var = hidden | fuzzy
    low = values.copy() if pub_low is None else np.where(hidden, values, pub_low).astype(float)
    high = values.copy() if pub_high is None else np.where(hidden, values, pub_high).astype(float)
    exact = ~hidden.copy()
    res = Intervals(low=low, high=high, exact=exact)
    var_idx = np.flatnonzero(var)
    if var_idx.size == 0:
        return res
    # rhs of each relation: minus the fixed (exactly published) part
    fixed = np.where(var, 0.0, values)
    rhs_all = -(m @ fixed)
    rel_rows = np.flatnonzero(np.diff(m[:, var_idx].tocsr().indptr) > 0)
    n_comp, labels, sub = components(m, var_idx)
    rhs = rhs_all[rel_rows]
    res.n_components = n_comp
    counts = np.bincount(labels, minlength=n_comp)
    res.largest_component = int(counts.max())
    col_lo = np.where(hidden, lower, pub_low if pub_low is not None else values)[var_idx]
    col_hi = np.where(hidden, INF, pub_high if pub_high is not None else values)[var_idx]
    sub_csc = sub.tocsc()
    row_of = sub.tocoo()
    row_comp = np.full(sub.shape[0], -1)
    row_comp[row_of.row] = labels[row_of.col]
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    rorder = np.argsort(row_comp, kind="stable")
    rcounts = np.bincount(row_comp, minlength=n_comp)
    rstarts = np.concatenate([[0], np.cumsum(rcounts)])
    for c in range(n_comp):
        cols = order[starts[c] : starts[c + 1]]
        rows = rorder[rstarts[c] : rstarts[c + 1]]
        glob = var_idx[cols]
        check = hidden[glob]
        if not check.any():
            continue
        a = sub_csc[:, cols][rows].tocsc()
        lo_c, hi_c, ex_c, n_lp = _solve_component(
            a,
            rhs[rows],
            col_lo[cols],
            col_hi[cols],
            values[glob],
            check,
            None if target_high is None else target_high[glob],
            None if target_low is None else target_low[glob],
        )
        res.n_lp += n_lp
        sel = glob[check]
        res.low[sel] = lo_c[check]
        res.high[sel] = hi_c[check]
        res.exact[sel] = ex_c[check]
    return res


def _solve_component(
    a: sp.csc_matrix,
    rhs: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    truth: np.ndarray,
    check: np.ndarray,
    t_high: np.ndarray | None,
    t_low: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n = a.shape[1]
    # a hidden cell that no relation constrains beyond its bounds: nothing to solve
    if a.shape[0] == 0:
        return col_lo.copy(), col_hi.copy(), np.ones(n, bool), 0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = col_lo.astype(float)
    lp.col_upper_ = col_hi.astype(float)
    lp.row_lower_ = rhs.astype(float)
    lp.row_upper_ = rhs.astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h.passModel(lp)
    # witnessed extremes: the true table is feasible
    w_lo, w_hi = truth.astype(float).copy(), truth.astype(float).copy()
    lo, hi = np.full(n, np.nan), np.full(n, np.nan)
    n_lp = 0
    idx_all = np.arange(n, dtype=np.int32)

    def solve(j: int, sense: float) -> float:
        nonlocal n_lp
        cost = np.zeros(n)
        cost[j] = sense
        h.changeColsCost(n, idx_all, cost)
        h.run()
        n_lp += 1
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return -INF
        if status != highspy.HighsModelStatus.kOptimal:
            # retry once from scratch: a warm start can stall on degenerate bases
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                return -INF
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"attacker LP failed: {h.modelStatusToString(status)}")
        x = np.asarray(h.getSolution().col_value)
        np.minimum(w_lo, x, out=w_lo)
        np.maximum(w_hi, x, out=w_hi)
        return float(x[j])

    tol = 1e-7 * np.maximum(1.0, np.abs(truth))
    for j in np.flatnonzero(check):
        if t_high is None or w_hi[j] < t_high[j] - tol[j]:
            v = solve(j, -1.0)
            hi[j] = INF if v == -INF else v
        if t_low is None or w_lo[j] > t_low[j] + tol[j]:
            v = solve(j, 1.0)
            lo[j] = -INF if v == -INF else v
    ex = ~np.isnan(lo) & ~np.isnan(hi)
    lo = np.where(np.isnan(lo), w_lo, lo)
    hi = np.where(np.isnan(hi), w_hi, hi)
    return lo, hi, ex, n_lp


@dataclass
class Check:
    """Which hidden cells the attacker can pin down more closely than their protection allows."""

    intervals: Intervals
    violated: np.ndarray  # bool per cell
    recoverable: np.ndarray  # bool per cell: interval width below half a unit (exactly known)


def check_protection(
    m: sp.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    up: np.ndarray,
    lo: np.ndarray,
    lower: np.ndarray | float = 0.0,
    pub_low: np.ndarray | None = None,
    pub_high: np.ndarray | None = None,
    exact: bool = True,
    unit: float = 1.0,
) -> Check:
    """Audit a suppression pattern: every cell with protection > 0 must keep it."""
    lower_arr = np.broadcast_to(np.asarray(lower, dtype=float), values.shape)
    need = hidden & ((up > 0) | (lo > 0))
    t_high = values + up
    t_low = np.maximum(lower_arr, values - lo)
    iv = attack(
        m,
        values,
        hidden,
        lower,
        pub_low,
        pub_high,
        None if exact else np.where(need, t_high, values),
        None if exact else np.where(need, t_low, values),
    )
    tol = 1e-6 * np.maximum(1.0, np.abs(values))
    violated = need & ((iv.high < t_high - tol) | (iv.low > t_low + tol))
    violated |= (~hidden) & ((up > 0) | (lo > 0))  # rounding or noise is never a licence
    recoverable = hidden & iv.exact & (iv.high - iv.low < 0.5 * unit)
    return Check(intervals=iv, violated=violated, recoverable=recoverable)
