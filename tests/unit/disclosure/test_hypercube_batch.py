"""Hypercubes prepared in batches: every claimed witness is a real attacker move, one by one or
in batches (tables with and without a hierarchy; the batch path takes the interior cells)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.disclosure.attacker import witnessed
from kluis.disclosure.hypercube import protect_hypercubes
from kluis.disclosure.linear import Dimension, TableStructure
from kluis.disclosure.suppress import default_cost


def _dims(draw) -> tuple[Dimension, ...]:
    out = []
    for k in range(draw(st.integers(2, 3))):
        n = draw(st.integers(2, 6))
        codes = tuple(f"c{i}" for i in range(n))
        levels = ()
        if draw(st.booleans()) and n >= 4:  # a level above the leaves: two groups
            levels = (
                ("group", tuple((c, "g0" if i < n // 2 else "g1") for i, c in enumerate(codes))),
            )
        out.append(Dimension(name=f"d{k}", codes=codes, levels=levels))
    return tuple(out)


def _table(ts: TableStructure, rng) -> np.ndarray:
    """Leaf counts summed up every dimension's tree (so all relations hold)."""
    values = np.zeros(ts.n_cells)
    leaf = ts.is_leaf()
    values[leaf] = rng.poisson(rng.choice([3.0, 12.0]), int(leaf.sum()))
    full = values.reshape(ts.shape)
    for k, d in enumerate(ts.dims):
        for node in range(len(d.codes), d.size):  # parents after their children
            kids = np.flatnonzero(d.parent == node)
            sl = [slice(None)] * len(ts.shape)
            sl[k] = node
            full[tuple(sl)] = np.take(full, kids, axis=k).sum(axis=k)
    return full.ravel()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_batched_hypercubes_are_verified_moves(data):
    ts = TableStructure(_dims(data.draw))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    values = _table(ts, rng)
    m = ts.relations()
    assert np.abs(m @ values).max() < 1e-9
    primary = (values > 0) & (values < 6)
    up = np.where(primary, np.maximum(6.0, 0.15 * values), 0.0)
    down = np.minimum(up, values)
    order = np.flatnonzero(primary)[np.argsort(-up[primary], kind="stable")]
    cost = default_cost(values)
    for batch in (1, 64):
        hidden, failed, wit = protect_hypercubes(
            ts, [values], [up], [down], order, primary.copy(), cost, batch=batch
        )
        assert hidden[primary].all()
        w_up, w_dn = witnessed(m, values, hidden, 0.0, up, down, wit)
        done = np.setdiff1d(order, failed)
        # every target not reported as failed has verified moves both ways
        assert w_up[done].all() and w_dn[done][down[done] > 0].all()
