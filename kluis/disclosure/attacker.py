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

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from kluis.highs import highspy

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
    """Connected components of the variable cells linked by shared relations.

    Found on the bipartite graph of relations and cells (not cell x cell adjacency, which is
    quadratic in a relation's length: a release history has relations over thousands of
    unknowns)."""
    sub = m[:, var].tocsr()
    sub = sub[np.diff(sub.indptr) > 0]
    n_rows, n_var = sub.shape
    coo = sub.tocoo()
    graph = sp.csr_matrix(
        (np.ones(coo.nnz), (coo.row, n_rows + coo.col)), shape=(n_rows + n_var,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    var_labels = labels[n_rows:]
    uniq, dense = np.unique(var_labels, return_inverse=True)
    return uniq.size, dense.ravel(), sub


def attack(
    m: sp.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    lower: np.ndarray | float = 0.0,
    pub_low: np.ndarray | None = None,
    pub_high: np.ndarray | None = None,
    target_high: np.ndarray | None = None,
    target_low: np.ndarray | None = None,
    only: np.ndarray | None = None,
) -> Intervals:
    """Feasible interval of every hidden cell.

    `hidden` is a boolean mask. Published cells are fixed to `values`, or kept within
    [pub_low, pub_high] when given (rounded or noisy publication). With `target_high/low` the
    attacker only needs to decide whether each hidden cell reaches those bounds: an LP is then
    skipped for cells whose targets were already witnessed; the returned bounds are then exact
    only where `exact` is set, and otherwise at least as wide as the targets.
    """
    # HiGHS tolerances are absolute: bring large magnitudes (wage totals) near 1e3 so that the
    # rounding noise in their margins stays far below them; results are scaled back
    scale = max(1.0, float(np.abs(values).max()) / 1e3) if values.size else 1.0
    if scale > 1.0:
        res = attack(
            m,
            values / scale,
            hidden,
            np.asarray(lower, dtype=float) / scale,
            None if pub_low is None else pub_low / scale,
            None if pub_high is None else pub_high / scale,
            None if target_high is None else target_high / scale,
            None if target_low is None else target_low / scale,
            only,
        )
        res.low = res.low * scale
        res.high = res.high * scale
        return res
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
        check = hidden[glob] if only is None else hidden[glob] & only[glob]
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
    h.setOptionValue("simplex_strategy", 4)  # primal: a cost change keeps the basis feasible
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

    last = [-1]

    def solve(j: int, sense: float) -> float:
        nonlocal n_lp
        if last[0] >= 0 and last[0] != j:
            h.changeColCost(int(last[0]), 0.0)
        h.changeColCost(int(j), float(sense))
        last[0] = j
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
    if t_high is not None and check.sum() > 8:
        n_lp += _bulk_witness(a, rhs, col_lo, col_hi, truth, check, t_high, t_low, w_lo, w_hi, tol)
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


def _bulk_witness(
    a: sp.csc_matrix,
    rhs: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    truth: np.ndarray,
    check: np.ndarray,
    t_high: np.ndarray,
    t_low: np.ndarray,
    w_lo: np.ndarray,
    w_hi: np.ndarray,
    tol: np.ndarray,
    rounds: int = 6,
) -> int:
    """Try to push many cells towards their targets in one LP; solutions are witnesses.

    Each round picks a direction per pending cell and maximises the summed progress (capped at
    each target). Cells far apart move independently, so one LP settles most of them; what is
    left gets its own LP. Only feasible points are used, so this never overstates protection.
    """
    rng = np.random.default_rng(0)
    n = a.shape[1]
    n_lp = 0
    for r in range(rounds):
        need_up = check & (w_hi < t_high - tol)
        need_dn = check & (w_lo > t_low + tol)
        pend = np.flatnonzero(need_up | need_dn)
        if pend.size <= 8:
            break
        both = need_up[pend] & need_dn[pend]
        sign = np.where(need_up[pend], 1.0, -1.0)
        flip = both & (rng.random(pend.size) < 0.5) if r else np.zeros(pend.size, bool)
        sign[flip] = -1.0
        room = np.where(sign > 0, t_high[pend] - truth[pend], truth[pend] - t_low[pend])
        room = np.maximum(room, 1e-9)
        k = pend.size
        # x - truth in direction sign >= s ;  0 <= s <= room ; maximise sum s / room
        e = sp.csr_matrix((-sign, (np.arange(k), pend)), shape=(k, n))
        a_ub = sp.hstack([e, sp.identity(k)]).tocsr()
        b_ub = -sign * truth[pend]
        a_eq = sp.hstack([a.tocsr(), sp.csr_matrix((a.shape[0], k))]).tocsr()
        c = np.concatenate([np.zeros(n), -1.0 / room])
        bounds = np.column_stack(
            [np.concatenate([col_lo, np.zeros(k)]), np.concatenate([col_hi, room])]
        )
        bounds[bounds == INF] = np.inf
        bounds[bounds == -INF] = -np.inf
        out = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=rhs, bounds=bounds, method="highs")
        n_lp += 1
        if out.x is None:
            break
        x = out.x[:n]
        before = pend.size
        np.minimum(w_lo, x, out=w_lo)
        np.maximum(w_hi, x, out=w_hi)
        after = int((check & ((w_hi < t_high - tol) | (w_lo > t_low + tol))).sum())
        if after > 0.8 * before:
            break  # a round that settles little: the cell-by-cell LPs do better
    return n_lp


def verify_witnesses(
    m: sp.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    lower: np.ndarray | float,
    moves: sp.csc_matrix,
) -> np.ndarray:
    """Check claimed attacker moves: column j of `moves` is a change of the table that keeps
    every relation, touches hidden cells only and keeps every cell above its lower bound, so
    values + moves[:, j] is a table the attacker cannot rule out. Returns which claims hold.

    Cheap (one sparse product), so a suppression method that can say *why* a cell is protected
    spares the audit an LP per cell; a wrong claim is simply not counted.
    """
    lower_arr = np.broadcast_to(np.asarray(lower, dtype=float), values.shape)
    moves = moves.tocsc()
    scale = np.maximum(1.0, np.abs(moves).max(axis=0).toarray().ravel())
    resid = abs(m @ moves).max(axis=0).toarray().ravel()
    ok = resid <= 1e-9 * scale * max(1.0, float(np.abs(values).max()))
    coo = moves.tocoo()
    bad = (~hidden[coo.row]) & (coo.data != 0)
    bad |= values[coo.row] + coo.data < lower_arr[coo.row] - 1e-9 * np.maximum(1, values[coo.row])
    ok[np.unique(coo.col[bad])] = False
    return ok


def witnessed(
    m: sp.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    lower: float,
    up: np.ndarray,
    lo: np.ndarray,
    witnesses: list,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells whose upward / downward protection a verified move demonstrates.

    `witnesses` holds (cell, (cells, signs) up, (cells, signs) down): the move is signs times the
    protection amount; the cell itself must carry sign +1.
    """
    n = values.size
    w_up = np.zeros(n, dtype=bool)
    w_dn = np.zeros(n, dtype=bool)
    if not witnesses:
        return w_up, w_dn
    rows, cols, data, tgt, amount, direction = [], [], [], [], [], []
    for j, (t, (iu, su), (idn, sdn)) in enumerate(witnesses):
        down = min(lo[t], values[t] - lower)
        for d, (ii, ss, a) in enumerate(((iu, su, up[t]), (idn, sdn, -down))):
            col = 2 * j + d
            rows.append(ii)
            cols.append(np.full(ii.size, col))
            data.append(ss * a)
            tgt.append(t)
            amount.append(a)
            direction.append(d)
    moves = sp.csc_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, 2 * len(witnesses)),
    )
    ok = verify_witnesses(m, values, hidden, lower, moves)
    tgt = np.array(tgt)
    amount = np.array(amount)
    reached = np.asarray(moves[tgt, np.arange(tgt.size)]).ravel()
    ok &= np.where(amount >= 0, reached >= amount - 1e-9, reached <= amount + 1e-9)
    direction = np.array(direction)
    w_up[tgt[ok & (direction == 0)]] = True
    w_dn[tgt[ok & (direction == 1)]] = True
    return w_up, w_dn


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
    witnessed_up: np.ndarray | None = None,
    witnessed_down: np.ndarray | None = None,
) -> Check:
    """Audit a suppression pattern: every cell with protection > 0 must keep it.

    `witnessed_up/down` mark cells whose protection was already shown by verified moves
    (verify_witnesses); without `exact`, LPs are solved only for the others.
    """
    lower_arr = np.broadcast_to(np.asarray(lower, dtype=float), values.shape)
    need = hidden & ((up > 0) | (lo > 0))
    w_up = np.zeros(values.shape, bool) if witnessed_up is None else witnessed_up
    w_dn = np.zeros(values.shape, bool) if witnessed_down is None else witnessed_down
    t_high = values + up
    t_low = np.maximum(lower_arr, values - lo)
    iv = attack(
        m,
        values,
        hidden,
        lower,
        pub_low,
        pub_high,
        None if exact else np.where(need & ~w_up, t_high, values),
        None if exact else np.where(need & ~w_dn, t_low, values),
        only=None if exact else need & ~(w_up & w_dn),
    )
    tol = 1e-6 * np.maximum(1.0, np.abs(values))
    if not exact:  # a verified move shows the attacker can reach at least this far
        iv.high = np.where(need & w_up, np.maximum(iv.high, t_high), iv.high)
        iv.low = np.where(need & w_dn, np.minimum(iv.low, t_low), iv.low)
    violated = need & (((iv.high < t_high - tol) & ~w_up) | ((iv.low > t_low + tol) & ~w_dn))
    violated |= (~hidden) & ((up > 0) | (lo > 0))  # rounding or noise is never a licence
    recoverable = hidden & iv.exact & (iv.high - iv.low < 0.5 * unit)
    return Check(intervals=iv, violated=violated, recoverable=recoverable)
