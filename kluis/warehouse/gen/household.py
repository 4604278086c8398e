"""Households: partners, children living with a parent, young children (under 13, outside the
warehouse) counted on their mother. Household id, LIPRO position and number of children follow
from these links each year; the links change by leaving home, partnering, separation and births.
"""

from __future__ import annotations

import numpy as np

from kluis.warehouse.gen.state import RES, Population, year_of

# LIPRO codes (kluis/codes/lipro.csv)
LIPRO = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11")


def _ages(pop: Population, year: int) -> np.ndarray:
    return (year - year_of(pop.birth)).astype(np.int16)


def household_key(pop: Population) -> np.ndarray:
    """Household id per person: the smallest pid of the couple (or own pid) of the adult the person
    lives with; -1 for non-residents."""
    pid = pop.pid
    partner = pop.partner
    has_p = partner >= 0
    adult_key = pid.copy()
    adult_key[has_p] = np.minimum(pid[has_p], pid[partner[has_p]])
    key = adult_key.copy()
    child = pop.parent >= 0
    key[child] = adult_key[pop.parent[child]]
    key[pop.status != RES] = -1
    return key


def _pair(
    pop: Population, men: np.ndarray, women: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pair men and women of the same province, the youngest with the youngest (men ~2 years
    older), as far as the numbers allow."""

    def ranked(rows: np.ndarray, shift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        agekey = age[rows] - shift + rng.normal(0, 2.0, rows.size)
        order = np.lexsort((agekey, pop.prov[rows]))
        rows = rows[order]
        prov = pop.prov[rows].astype(np.int64)
        first = np.r_[True, prov[1:] != prov[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(rows.size) - np.repeat(starts, np.diff(np.r_[starts, rows.size]))
        return rows, prov, rank

    m_rows, m_prov, m_rank = ranked(men, 2.0)
    f_rows, f_prov, f_rank = ranked(women, 0.0)
    n_prov = 11
    cap = np.minimum(np.bincount(m_prov, minlength=n_prov), np.bincount(f_prov, minlength=n_prov))
    m_keep = m_rank < cap[m_prov]
    f_keep = f_rank < cap[f_prov]
    return m_rows[m_keep], f_rows[f_keep]  # both ordered by (province, rank): aligned


def link_couples(pop: Population, men: np.ndarray, women: np.ndarray) -> None:
    pop.partner[men] = women
    pop.partner[women] = men
    pop.parent[men] = -1
    pop.parent[women] = -1
    pop.married[men] = False
    pop.married[women] = False


def _partner_prob(age: np.ndarray) -> np.ndarray:
    return np.interp(age, [18, 22, 26, 30, 35, 45, 64], [0.01, 0.07, 0.15, 0.14, 0.09, 0.05, 0.03])


def initial_households(pop: Population, year: int, rng: np.random.Generator) -> None:
    """Links for a freshly created population: couples, children at home, young children."""
    age = _ages(pop, year)
    res = pop.status == RES
    pop.collective[res & (rng.random(len(pop)) < 0.004)] = True
    free = res & ~pop.collective & (age >= 18)
    p_couple = np.interp(
        age, [18, 22, 26, 30, 40, 55, 66], [0.02, 0.15, 0.45, 0.62, 0.68, 0.70, 0.66]
    )
    cand = free & (rng.random(len(pop)) < p_couple)
    men, women = _pair(
        pop, np.flatnonzero(cand & (pop.sex == 0)), np.flatnonzero(cand & (pop.sex == 1)), age, rng
    )
    link_couples(pop, men, women)
    married = rng.random(men.size) < np.interp(age[men], [20, 35, 60], [0.25, 0.55, 0.8])
    pop.married[men] = married
    pop.married[women] = married
    female = res & (pop.sex == 1) & ~pop.collective
    lam = np.interp(age, [18, 25, 32, 38, 44, 50, 55], [0.02, 0.35, 1.1, 1.3, 0.8, 0.25, 0.0])
    pop.young_kids[female] = rng.poisson(lam[female]).clip(0, 6)
    # children living at home
    home_p = np.interp(age, [13, 17, 20, 24, 28, 35, 45], [0.97, 0.95, 0.88, 0.6, 0.25, 0.07, 0.02])
    kids = np.flatnonzero(
        res & ~pop.collective & (pop.partner < 0) & (rng.random(len(pop)) < home_p)
    )
    mothers = np.flatnonzero(female & (pop.parent < 0) & (age >= 33))
    if mothers.size and kids.size:
        order = np.lexsort((age[mothers], pop.prov[mothers]))
        mothers = mothers[order]
        mkey = pop.prov[mothers].astype(np.int64) * 1000 + age[mothers]
        kkey = pop.prov[kids].astype(np.int64) * 1000 + age[kids]
        lo = np.searchsorted(mkey, kkey + 22)
        hi = np.searchsorted(mkey, kkey + 42, side="right")
        ok = hi > lo
        pick = lo[ok] + (rng.random(int(ok.sum())) * (hi[ok] - lo[ok])).astype(np.int64)
        pop.parent[kids[ok]] = mothers[pick]
    orphan_minor = res & (pop.parent < 0) & (pop.partner < 0) & (age < 18)
    pop.collective[orphan_minor] = True


def choose_mothers(pop: Population, n: int, year: int, rng: np.random.Generator) -> np.ndarray:
    """Mothers for `n` children turning 13 (row index, -1 when none), taken from women's young
    children so those leave the count of children under 13."""
    age = _ages(pop, year)
    cand = np.flatnonzero(
        (pop.status == RES)
        & (pop.sex == 1)
        & (pop.parent < 0)
        & ~pop.collective
        & (age >= 26)
        & (age <= 58)
    )
    if cand.size == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    w = (pop.young_kids[cand] + 0.03) * np.interp(
        age[cand], [26, 33, 40, 47, 58], [0.2, 0.8, 1.0, 0.6, 0.05]
    )
    cum = np.cumsum(w)
    pick = cand[np.searchsorted(cum, rng.random(n) * cum[-1], side="right").clip(0, cand.size - 1)]
    taken = np.bincount(pick, minlength=len(pop))[cand]
    pop.young_kids[cand] = np.maximum(pop.young_kids[cand] - taken, 0)
    return pick


def step_households(
    pop: Population, year: int, persons_births: int, rng: np.random.Generator
) -> None:
    """One year of household change for residents."""
    age = _ages(pop, year)
    res = pop.status == RES
    n = len(pop)
    # links to persons who died, left or separated are cut
    p = pop.partner
    bad = (p >= 0) & (~res | (pop.status[np.maximum(p, 0)] != RES))
    pop.partner[bad] = -1
    par = pop.parent
    lost = (par >= 0) & (pop.status[np.maximum(par, 0)] != RES)
    alt = pop.partner[np.maximum(par, 0)]
    takeover = lost & (alt >= 0)
    pop.parent[takeover] = alt[takeover]
    pop.parent[lost & ~takeover] = -1
    pop.collective[res & lost & ~takeover & (age < 18)] = True
    # leaving the parental home
    leave_p = np.interp(age, [17, 19, 22, 25, 28, 35], [0.0, 0.05, 0.12, 0.22, 0.25, 0.2])
    leave = (pop.parent >= 0) & (rng.random(n) < leave_p)
    pop.parent[leave] = -1
    # separation and marriage
    couple = res & (pop.partner >= 0) & (np.arange(n) < pop.partner)
    sep = couple & (rng.random(n) < np.where(pop.married, 0.018, 0.045))
    other = pop.partner[sep]
    pop.partner[sep] = -1
    pop.partner[other] = -1
    pop.married[sep] = False
    pop.married[other] = False
    wed = couple & ~sep & ~pop.married & (rng.random(n) < 0.07)
    pop.married[wed] = True
    pop.married[pop.partner[wed]] = True
    # new couples
    single = res & (pop.partner < 0) & ~pop.collective & ~pop.waiting & (age >= 18)
    cand = single & (rng.random(n) < _partner_prob(age))
    men, women = _pair(
        pop, np.flatnonzero(cand & (pop.sex == 0)), np.flatnonzero(cand & (pop.sex == 1)), age, rng
    )
    link_couples(pop, men, women)
    # births (children under 13 are not in the warehouse: counted on the mother)
    women_ok = res & (pop.sex == 1) & (pop.parent < 0) & ~pop.collective & (age >= 17) & (age <= 46)
    w = np.interp(age, [17, 22, 27, 31, 35, 40, 46], [0.02, 0.3, 0.9, 1.0, 0.7, 0.25, 0.02])
    w = w * np.where(pop.partner >= 0, 1.0, 0.2) * np.where(pop.young_kids >= 4, 0.1, 1.0)
    cand = np.flatnonzero(women_ok & (w > 0))
    if cand.size and persons_births > 0:
        keys = np.log(w[cand]) - np.log(-np.log(rng.random(cand.size)))
        k = min(persons_births, cand.size)
        mothers = cand[np.argpartition(-keys, k - 1)[:k]]
        pop.young_kids[mothers] = np.minimum(pop.young_kids[mothers] + 1, 8)
    pop.young_kids[age > 56] = 0


def household_columns(pop: Population, rows: np.ndarray, age: np.ndarray) -> dict[str, np.ndarray]:
    """household_id, LIPRO index and number of children for resident `rows` (sorted indices)."""
    key_all = household_key(pop)
    res = np.flatnonzero(pop.status == RES)
    keys_res = key_all[res]
    uniq, inv = np.unique(keys_res, return_inverse=True)
    child_member = pop.parent[res] >= 0
    n_child = np.bincount(inv, weights=child_member, minlength=uniq.size)
    n_young = np.bincount(inv, weights=pop.young_kids[res], minlength=uniq.size)
    key = key_all[rows]
    pos = np.searchsorted(uniq, key)
    n_children = np.minimum(n_child[pos] + n_young[pos], 20).astype(np.int8)
    parent = pop.parent[rows]
    partner = pop.partner[rows]
    is_child = parent >= 0
    p = np.maximum(parent, 0)
    parent_age_gap = (pop.birth[rows] - pop.birth[p]) // 365  # years the parent is older
    lipro = np.where(n_children > 0, 5, 0)  # single parent / single
    lipro = np.where(
        partner >= 0,
        np.where(pop.married[rows], np.where(n_children > 0, 2, 1), np.where(n_children > 0, 4, 3)),
        lipro,
    )
    child_type = np.where(pop.partner[p] >= 0, np.where(pop.married[p], 6, 7), 8)
    lipro = np.where(is_child, child_type, lipro)
    lipro = np.where(is_child & (age >= 18) & (parent_age_gap < 15), 9, lipro)
    lipro = np.where(pop.collective[rows], 10, lipro)
    n_children = np.where(pop.collective[rows], 0, n_children).astype(np.int8)
    return {"household_id": key, "lipro": lipro.astype(np.int8), "n_children": n_children}
