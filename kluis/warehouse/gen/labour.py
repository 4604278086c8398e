"""Yearly transitions between labour states, steered to the cell targets.

Each person stays in their state with a state-specific probability (higher for jobs and pensions,
lower for job-seeking); persons in a state that is over its target in their cell are pushed out
faster. Movers are sent to the states their cell still needs, weighted by how plausible the move is
from where they come (a job-seeker more likely finds work than retires). This keeps the calibrated
shares while giving realistic flows and durations.
"""

from __future__ import annotations

import numpy as np

from kluis.warehouse.gen import labour_targets as T
from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.state import (
    CB,
    COMBO,
    DISAB,
    EMP,
    EXEMPT,
    HELP,
    INACT,
    INCAP,
    JOBSEEKER,
    JS_IA,
    JS_NONE,
    JS_UB,
    N_LAB,
    NO_DATE,
    OTHER,
    PENS,
    SELF,
    SII,
    STUDENT,
    SWT,
    Population,
    day_of,
)

STAY = np.array(
    [0.93, 0.94, 0.85, 0.75, 0.55, 0.45, 0.5, 0.5, 0.6, 0.6, 0.995, 0.95, 0.92, 0.5, 0.9, 0.8, 0.8]
)
STAY_LONG_INCAP = 0.9
PUSH = 0.9  # share of a state's excess over its cell target pushed out per year

# plausibility of moving from (row; last row = newly arrived) to (column)
AFFINITY = np.ones((N_LAB + 1, N_LAB))
np.fill_diagonal(AFFINITY[:N_LAB], 0.0)
for _frm, _to in {
    EMP: {JS_UB: 3, JS_IA: 0.1, JS_NONE: 0.5, INCAP: 1.5, OTHER: 0.6, STUDENT: 0.1, SII: 0.3},
    SELF: {EMP: 1.5, JS_UB: 0.3, JS_NONE: 0.8, STUDENT: 0.1},
    JS_UB: {EMP: 3, SELF: 0.5, STUDENT: 0.1, JS_IA: 0.2},
    JS_IA: {EMP: 3, JS_UB: 1.5},
    JS_NONE: {EMP: 2, SII: 1.5},
    SII: {EMP: 1.5, JS_NONE: 2.5},
    STUDENT: {EMP: 2, JS_IA: 3, JS_NONE: 1, OTHER: 1, PENS: 0, SWT: 0, INCAP: 0.2},
    INCAP: {DISAB: 1.5, EMP: 0.7, PENS: 1.5, STUDENT: 0},
    DISAB: {STUDENT: 0},
    PENS: {STUDENT: 0},
    SWT: {PENS: 3, STUDENT: 0},
}.items():
    for _k, _v in _to.items():
        AFFINITY[_frm, _k] = _v
for _frm in range(N_LAB):
    if _frm != STUDENT:
        AFFINITY[_frm, STUDENT] = min(AFFINITY[_frm, STUDENT], 0.05)


def person_cells(pop: Population, rows: np.ndarray, age: np.ndarray) -> np.ndarray:
    region = P.PROV_REGION[pop.prov[rows]]
    edu = P.EDU_BROAD[pop.edu_final[rows]]
    nat = pop.nat[rows]
    mig = np.where(nat == P.BE, 0, np.where(P.COUNTRY_EU[nat], 1, 2))
    return T.cell_index(region, pop.sex[rows], age, edu, mig)


def _sample_rows(prob: np.ndarray, row_of: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each item, a column drawn from prob[row_of[item]] (rows need not be normalised)."""
    sums = prob.sum(axis=1, keepdims=True)
    norm = np.divide(prob, sums, out=np.zeros_like(prob), where=sums > 0)
    cum = np.cumsum(norm, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(prob.shape[0])[:, None]).ravel()
    pos = np.searchsorted(flat, row_of + rng.random(row_of.size) * (1 - 1e-12), side="right")
    return (pos - row_of * prob.shape[1]).clip(0, prob.shape[1] - 1)


def _balanced(
    need: np.ndarray, ucell: np.ndarray, uorig: np.ndarray, movers: np.ndarray
) -> np.ndarray:
    """Destination weights per (cell, origin) group: need x affinity, rescaled per destination
    (iterative proportional fitting) so that the expected arrivals match each state's need even
    though some origins lean towards some destinations."""
    base = need[ucell] * AFFINITY[uorig]
    cells, cell_of = np.unique(ucell, return_inverse=True)
    want = need[cells]
    total_movers = np.bincount(cell_of, weights=movers, minlength=cells.size)
    want = want * (total_movers / np.maximum(want.sum(axis=1), 1e-12))[:, None]
    scale = np.ones_like(want)
    for _ in range(8):
        q = base * scale[cell_of]
        q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
        got = np.zeros_like(want)
        np.add.at(got, cell_of, q * movers[:, None])
        scale *= np.where(got > 1e-9, want / np.maximum(got, 1e-9), 1.0)
        scale = np.clip(scale, 1e-3, 1e3)
    return base * scale[cell_of]


def new_adjustment() -> dict:
    return {"e": np.zeros(6), "u": np.ones(6)}


def _update_adjustment(
    adjust: dict, pop: Population, rows: np.ndarray, age: np.ndarray, lab: np.ndarray, year: int
) -> None:
    """Integral control: move next year's solved targets by the gap seen this year."""
    scope = (age >= 15) & (age <= 64) & ~pop.waiting[rows]
    group = (P.PROV_REGION[pop.prov[rows]] * 2 + pop.sex[rows])[scope].astype(np.int64)
    work = np.isin(lab[scope], (EMP, SELF, HELP, COMBO))
    seek = np.isin(lab[scope], (JS_UB, JS_IA, JS_NONE))
    n = np.bincount(group, minlength=6).astype(float)
    e = np.bincount(group, weights=work, minlength=6)
    j = np.bincount(group, weights=seek, minlength=6)
    if n.min() < 200:  # too few persons for the correction to be more than noise
        return
    emp_t, un_t = T.group_targets(year)
    u = j / np.maximum(e + j, 1.0)
    adjust["e"] = np.clip(adjust["e"] + 0.8 * (emp_t - e / n), -0.06, 0.06)
    adjust["u"] = np.clip(adjust["u"] * (un_t / np.maximum(u, 1e-3)) ** 0.8, 0.6, 1.5)


def step_labour(
    pop: Population,
    rows: np.ndarray,
    age: np.ndarray,
    year: int,
    rng: np.random.Generator,
    adjust: dict | None = None,
) -> None:
    """New labour state for resident `rows` (their previous state is pop.lab, -1 for new)."""
    cells = person_cells(pop, rows, age)
    prev = pop.lab_prev[rows].astype(np.int64)
    counts = np.bincount(cells, minlength=T.N_CELLS).astype(float)
    target = T.build_targets(year, counts, adjust)
    known = prev >= 0
    have = np.zeros((T.N_CELLS, N_LAB))
    np.add.at(have, (cells[known], prev[known]), 1.0)
    want = target * counts[:, None]
    excess = np.divide(have - want, have, out=np.zeros_like(have), where=have > 0).clip(0, 1)
    stay = np.zeros(rows.size)
    p_prev = np.maximum(prev, 0)
    stay[known] = STAY[p_prev[known]]
    long_incap = known & (prev == INCAP) & (pop.incap_start[rows] < day_of(year - 1))
    stay[long_incap] = STAY_LONG_INCAP
    leave_p = np.maximum(1 - stay, PUSH * excess[cells, p_prev])
    leave_p[known & (target[cells, p_prev] <= 0)] = 1.0
    leave_p[~known] = 1.0
    movers = rng.random(rows.size) < leave_p
    stayers = ~movers
    kept = np.zeros((T.N_CELLS, N_LAB))
    np.add.at(kept, (cells[stayers], prev[stayers]), 1.0)
    need = np.clip(want - kept, 0, None)
    origin = np.where(known, prev, N_LAB)[movers]
    combo = cells[movers] * (N_LAB + 1) + origin
    uniq, inv = np.unique(combo, return_inverse=True)
    ucell, uorig = uniq // (N_LAB + 1), uniq % (N_LAB + 1)
    prob = _balanced(need, ucell, uorig, np.bincount(inv, minlength=uniq.size))
    empty = prob.sum(axis=1) <= 0
    prob[empty] = target[ucell[empty]]
    new = prev.copy()
    new[movers] = _sample_rows(prob, inv, rng)
    lab = new.astype(np.int8)
    _bookkeeping(pop, rows, lab, prev, year, rng)
    pop.lab[rows] = lab
    if adjust is not None:
        _update_adjustment(adjust, pop, rows, age, lab, year)


def _bookkeeping(
    pop: Population,
    rows: np.ndarray,
    lab: np.ndarray,
    prev: np.ndarray,
    year: int,
    rng: np.random.Generator,
) -> None:
    """Spell starts: job-seeker registration month, incapacity start day, state entry year."""
    changed = lab != prev
    pop.lab_since[rows[changed]] = year
    new = prev < 0
    js_now = np.isin(lab, JOBSEEKER)
    js_before = np.isin(prev, JOBSEEKER)
    enter_js = js_now & ~js_before & ~new
    pop.js_start[rows[enter_js]] = year * 12 + rng.integers(0, 12, int(enter_js.sum()))
    fresh_js = js_now & new
    pop.js_start[rows[fresh_js]] = year * 12 + 11 - rng.geometric(1 / 14, int(fresh_js.sum())) + 1
    enter_inc = (lab == INCAP) & (prev != INCAP) & ~new
    pop.incap_start[rows[enter_inc]] = day_of(year, rng.integers(0, 365, int(enter_inc.sum())))
    fresh_inc = (lab == INCAP) & new
    back = (rng.exponential(2.5 * 365, int(fresh_inc.sum()))).astype(np.int64)
    pop.incap_start[rows[fresh_inc]] = day_of(year, 364) - back
    # a spell that ended last year is no longer reported
    pop.incap_start[rows[(lab != INCAP) & (prev != INCAP)]] = NO_DATE


WORKING_STATES = (EMP, SELF, HELP, COMBO)
INACTIVE_STATES = (CB, EXEMPT, SII, PENS, SWT, STUDENT, INCAP, DISAB, INACT, OTHER)
__all__ = ["step_labour", "person_cells", "JS_UB", "JS_IA", "JS_NONE", "WORKING_STATES"]
