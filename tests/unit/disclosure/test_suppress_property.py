"""Secondary suppression never leaves an unsafe cell recoverable: random tables, independent LP."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.disclosure.linear import Dimension, TableStructure
from kluis.disclosure.suppress import System, suppress

from .attacker import attacker_intervals, margin_equations, with_margins


@st.composite
def tables(draw):
    ndim = draw(st.integers(2, 3))
    shape = tuple(draw(st.integers(2, 5 if ndim == 2 else 3)) for _ in range(ndim))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    inner = rng.poisson(rng.choice([2.0, 8.0, 30.0]), size=shape).astype(float)
    full = with_margins(inner)
    # sensitive: some non-empty interior cells (and sometimes a margin)
    candidates = np.flatnonzero(full.ravel() > 0)
    k = draw(st.integers(1, min(4, candidates.size))) if candidates.size else 0
    sens = rng.choice(candidates, size=k, replace=False) if k else np.array([], dtype=int)
    return shape, full, sens


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_every_sensitive_cell_keeps_its_protection_interval(case):
    shape, full, sens = case
    values = full.ravel()
    ts = TableStructure(
        tuple(Dimension(name=f"d{k}", codes=tuple(map(str, range(s)))) for k, s in enumerate(shape))
    )
    assert ts.shape == full.shape  # leaves first, total last: same layout as `full`
    primary = np.zeros(values.size, dtype=bool)
    primary[sens] = True
    up = np.where(primary, np.maximum(3.0, 0.15 * values), 0.0)
    res = suppress(ts, [System("count", values, up, up.copy())], primary)
    assert res.hidden[primary].all()
    iv = attacker_intervals(margin_equations(full.shape), values, res.hidden)
    for cell in sens:
        low, high = iv[int(cell)]
        assert high >= values[cell] + up[cell] - 1e-6, (cell, values[cell], low, high)
        assert low <= max(0.0, values[cell] - up[cell]) + 1e-6, (cell, values[cell], low, high)


def test_single_suppression_is_recoverable_without_complements():
    """The attacker in these tests does find what one suppression alone leaves open."""
    full = with_margins(np.array([[5.0, 20.0], [30.0, 40.0]]))
    hidden = np.zeros(full.size, dtype=bool)
    hidden[0] = True
    low, high = attacker_intervals(margin_equations(full.shape), full.ravel(), hidden)[0]
    assert abs(low - 5) < 1e-9 and abs(high - 5) < 1e-9


def test_large_table_path_protects_too():
    """A table too large for the one-shot MIP goes through hypercubes; still fully protected."""
    rng = np.random.default_rng(5)
    inner = rng.poisson(rng.gamma(0.8, 12.0, size=(8, 9, 6))).astype(float)
    full = with_margins(inner)
    values = full.ravel()
    ts = TableStructure(
        tuple(
            Dimension(name=f"d{k}", codes=tuple(map(str, range(s))))
            for k, s in enumerate(inner.shape)
        )
    )
    primary = (values > 0) & (values < 5)
    up = np.where(primary, np.maximum(5.0, 0.15 * values), 0.0)
    res = suppress(ts, [System("count", values, up, up.copy())], primary)
    assert res.method.startswith("hypercubes")
    iv = attacker_intervals(margin_equations(full.shape), values, res.hidden)
    for cell in np.flatnonzero(primary):
        low, high = iv[int(cell)]
        assert high >= values[cell] + up[cell] - 1e-6
        assert low <= max(0.0, values[cell] - up[cell]) + 1e-6
