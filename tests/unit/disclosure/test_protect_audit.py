"""protect() reuses the suppression's final certifying audit instead of solving it twice; the
reused result must be what a fresh audit of the published pattern finds, and must hold against
an independent attacker."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kluis.disclosure.attacker import check_protection
from kluis.disclosure.protect import protect
from kluis.disclosure.spec import TableSpec

from .attacker import attacker_intervals, margin_equations


def _micro(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "a": rng.choice(8, n, p=np.r_[0.5, 0.2, 0.1, 0.08, 0.05, 0.04, 0.02, 0.01]),
            "b": rng.choice(9, n),
            "c": rng.choice(5, n, p=[0.6, 0.2, 0.1, 0.07, 0.03]),
        }
    )


def test_reused_certifying_audit_equals_a_fresh_audit_and_an_independent_attack():
    spec = TableSpec(dimensions=[{"column": k} for k in "abc"], person_id="person")
    pt = protect(_micro(4), spec, exact_audit=False)
    assert "hypercubes" in pt.method  # large enough for the decomposed path
    assert pt.primary.unsafe.sum() > 20
    s = pt.systems[0]
    m = pt.cells.structure.relations()
    # the audit in the result is the one the suppression loop ended on; recompute it
    fresh = check_protection(m, s.values, pt.hidden, s.up, s.lo, s.lower, exact=True)
    got = pt.audit["count"]
    assert not got.violated.any() and not fresh.violated.any()
    assert got.violated.tolist() == fresh.violated.tolist()
    # certified bounds never claim more room than the exact attacker leaves
    need = pt.hidden & (s.up > 0)
    assert np.all(got.intervals.high[need] <= fresh.intervals.high[need] + 1e-6)
    assert np.all(got.intervals.low[need] >= fresh.intervals.low[need] - 1e-6)
    # and an attacker written independently of kluis agrees on every unsafe cell
    eqs = margin_equations(pt.cells.structure.shape)
    iv = attacker_intervals(eqs, s.values, pt.hidden)
    for cell in np.flatnonzero(pt.primary.unsafe):
        low, high = iv[int(cell)]
        assert high >= s.values[cell] + s.up[cell] - 1e-6
        assert low <= max(0.0, s.values[cell] - s.lo[cell]) + 1e-6
