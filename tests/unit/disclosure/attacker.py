"""Helpers for the disclosure tests: an attacker written from scratch with scipy's linprog.

It shares no code with kluis.disclosure (neither the relation matrix nor the audit), so it checks
both the suppression and the audit.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog


def with_margins(inner: np.ndarray) -> np.ndarray:
    """Array of shape (n1+1, n2+1, ...): the last index on each axis is the total."""
    full = np.zeros(tuple(s + 1 for s in inner.shape))
    for axes in itertools.product([False, True], repeat=inner.ndim):
        v = inner
        for k, summed in enumerate(axes):
            if summed:
                v = v.sum(axis=k, keepdims=True)
        sl = tuple(
            slice(s, s + 1) if summed else slice(0, s)
            for s, summed in zip(inner.shape, axes, strict=True)
        )
        full[sl] = v
    return full


def margin_equations(shape: tuple[int, ...]) -> np.ndarray:
    """Dense equations: along every axis, the total entry equals the sum of the others."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    rows = []
    for k in range(len(shape)):
        moved = np.moveaxis(idx, k, -1).reshape(-1, shape[k])
        for line in moved:
            r = np.zeros(idx.size)
            r[line[:-1]] = 1.0
            r[line[-1]] = -1.0
            rows.append(r)
    return np.array(rows)


def attacker_intervals(eqs: np.ndarray, values: np.ndarray, hidden: np.ndarray):
    """min and max of every hidden cell given all published cells, equations and x >= 0."""
    h = np.flatnonzero(hidden)
    p = np.flatnonzero(~hidden)
    a = eqs[:, h]
    b = -eqs[:, p] @ values[p]
    keep = np.abs(a).sum(axis=1) > 0
    a, b = a[keep], b[keep]
    out = {}
    for j, cell in enumerate(h):
        c = np.zeros(h.size)
        c[j] = 1.0
        lo = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0, lo.message
        upper = np.inf if hi.status == 3 else -hi.fun
        out[int(cell)] = (lo.fun, upper)
    return out
