"""Who is in the population: the first population, deaths, ageing out, emigration and return,
children turning 13, immigrants, cross-border workers, naturalisation and moves between provinces.

Inflows are steered so that the number of residents aged 15-64 stays at the requested size and the
shares by province and nationality follow the calibration path.
"""

from __future__ import annotations

import numpy as np

from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.education import assign_education
from kluis.warehouse.gen.household import choose_mothers, household_key
from kluis.warehouse.gen.insz import InszAllocator
from kluis.warehouse.gen.state import ABROAD, DEAD, GONE, NONRES, RES, Population, day_of, year_of

CROSS_BORDER_SHARE = 0.012  # non-resident workers in Belgian jobs, per resident 15-64
_REASONS_NON_EU = np.array([0.45, 0.12, 0.08, 0.20, 0.06, 0.07, 0.02])  # codes 03..08, 99
REASON_CODES = ("01", "02", "03", "04", "05", "06", "07", "08", "99")


def ages(pop: Population, year: int) -> np.ndarray:
    return (year - year_of(pop.birth)).astype(np.int16)


def in_scope(pop: Population, age: np.ndarray) -> np.ndarray:
    """Counted towards `--persons`: resident, not in the waiting register, aged 15-64."""
    return (pop.status == RES) & ~pop.waiting & (age >= 15) & (age <= 64)


def _new_people(
    pop: Population,
    rng: np.random.Generator,
    alloc: InszAllocator,
    year: int,
    age: np.ndarray,
    sex: np.ndarray,
    bis: np.ndarray,
    **cols: np.ndarray,
) -> np.ndarray:
    n = age.size
    birth = day_of(year - age, rng.integers(0, 365, size=n))
    insz, is_bis = alloc.assign(birth, sex, bis)
    return pop.append(
        n,
        birth=birth,
        sex=sex,
        insz=insz,
        bis=is_bis,
        status_since=np.full(n, year),
        wage_eff=rng.normal(0, 0.27, n),
        trait=rng.random(n),
        **cols,
    )


def _set_origin(pop: Population, idx: np.ndarray, rng: np.random.Generator) -> None:
    """Foreign origin and migrant descent of Belgian-born persons without a mother to copy."""
    region = P.PROV_REGION[pop.prov[idx]]
    has = rng.random(idx.size) < P.ORIGIN_SHARE_BE[region]
    country = rng.choice(len(P.COUNTRIES), size=idx.size, p=P.ORIGIN_MIX)
    pop.origin[idx] = np.where(has, country, -1)
    pop.descent[idx] = np.where(has & (rng.random(idx.size) < 0.85), country, -1)


def initial_population(
    pop: Population, alloc: InszAllocator, persons: int, year: int, rng: np.random.Generator
) -> None:
    """Residents aged 13-66 on 31 December of `year`, sized so that 15-64 is about `persons`."""
    age_range = np.arange(P.FIRST_AGE, P.LAST_AGE + 1)
    weights = P.cohort_size(year - age_range)
    in_1564 = (age_range >= 15) & (age_range <= 64)
    scale = persons / weights[in_1564].sum()
    counts = rng.poisson(weights * scale)
    age = np.repeat(age_range, counts).astype(np.int64)
    n = age.size
    sex = (rng.random(n) < np.where(age > 55, 0.51, 0.495)).astype(np.int8)
    prov = rng.choice(len(P.PROVINCES), size=n, p=P.PROV_SHARE).astype(np.int8)
    region = P.PROV_REGION[prov]
    share = foreign_share_target(year)
    foreign = rng.random(n) < share[region] * np.where(age < 20, 0.7, 1.05)
    nat = np.where(foreign, rng.choice(len(P.COUNTRIES), size=n, p=P.STOCK_MIX), P.BE)
    born_abroad = foreign & (rng.random(n) < np.where(age < 18, 0.4, 0.8))
    reg_year = np.where(born_abroad, year - np.minimum(rng.integers(0, 30, n), age - 1), year - age)
    idx = _new_people(
        pop,
        rng,
        alloc,
        year,
        age,
        sex,
        np.zeros(n, bool),
        prov=prov,
        nat=nat,
        nat_first=nat,
        birth_country=np.where(born_abroad, nat, P.BE),
        reg_year=reg_year,
        german=(prov == P.LIEGE) & (rng.random(n) < 0.07),
    )
    _set_origin(pop, idx, rng)
    pop.origin[idx[foreign]] = nat[foreign]
    pop.descent[idx[foreign]] = nat[foreign]
    # part of the Belgians of foreign origin were born abroad and naturalised later
    natd = (~foreign) & (pop.descent[idx] >= 0) & (rng.random(n) < 0.3)
    pop.nat_first[idx[natd]] = pop.descent[idx[natd]]
    abroad_natd = natd & (age > 18) & (rng.random(n) < 0.6)
    pop.birth_country[idx[abroad_natd]] = pop.descent[idx[abroad_natd]]
    pop.reg_year[idx[abroad_natd]] = year - np.minimum(
        rng.integers(5, 40, int(abroad_natd.sum())), age[abroad_natd] - 1
    )
    _set_reason(pop, idx, rng)
    arrival = np.where(born_abroad | abroad_natd, age - (year - pop.reg_year[idx]), 0)
    migrant = np.where(
        pop.nat_first[idx] == P.BE, 0, np.where(P.COUNTRY_EU[pop.nat_first[idx]], 1, 2)
    )
    assign_education(pop, idx, rng, np.where(arrival > 0, migrant, 0), arrival)


def _set_reason(pop: Population, idx: np.ndarray, rng: np.random.Generator) -> None:
    """Residence reason for non-EU nationals (EU and Belgians follow from nationality)."""
    p = np.tile(_REASONS_NON_EU, (idx.size, 1))
    asylum = P.ASYLUM[pop.nat[idx]]
    p[asylum, 3] *= 4
    p /= p.sum(axis=1, keepdims=True)
    cum = p.cumsum(axis=1)
    pop.reason[idx] = 2 + (rng.random(idx.size)[:, None] > cum).sum(axis=1)


def exits(pop: Population, year: int, rng: np.random.Generator) -> None:
    """Deaths, ageing out, emigration, returns from abroad, cross-border workers leaving."""
    age = ages(pop, year)
    here = (pop.status == RES) | (pop.status == NONRES)
    dies = here & (rng.random(len(pop)) < P.death_prob(age, pop.sex == 1))
    pop.death[dies] = day_of(year, rng.integers(0, 365, int(dies.sum())))
    pop.status[dies] = DEAD
    old = (age > P.LAST_AGE) & (pop.status != DEAD) & (pop.status != GONE)
    pop.status[old] = GONE
    res = pop.status == RES
    foreign = pop.nat != P.BE
    rate = np.where(foreign, np.where(P.COUNTRY_EU[pop.nat], 0.055, 0.035), 0.0035)
    rate = rate * np.where((age >= 20) & (age <= 40), 1.4, 0.7)
    rate = np.where(pop.waiting, 0.22, rate)
    leaves = res & (rng.random(len(pop)) < rate)
    pop.status[leaves] = ABROAD
    pop.status_since[leaves] = year
    pop.parent[leaves] = -1  # who comes back later starts a household of their own
    pop.partner[leaves] = -1
    away = (pop.status == ABROAD) & ~leaves
    back = (
        away
        & (year - pop.status_since <= 8)
        & (rng.random(len(pop)) < np.where(pop.nat == P.BE, 0.07, 0.03))
    )
    pop.status[back] = RES
    pop.prov[back] = rng.choice(len(P.PROVINCES), size=int(back.sum()), p=P.IMMIGRANT_PROV_P)
    pop.status[away & ~back & (year - pop.status_since > 8)] = GONE
    pop.status[(pop.status == NONRES) & (rng.random(len(pop)) < 0.12)] = GONE
    moved = dies | old | leaves | (pop.status == GONE)
    pop.employer[moved] = -1
    pop.employer2[moved] = -1


def entrants(
    pop: Population, alloc: InszAllocator, persons: int, year: int, rng: np.random.Generator
) -> np.ndarray:
    """Children born in Belgium who turn 13 this year, each with a mother in the population."""
    age_range = np.arange(15, 65)
    scale = persons / P.cohort_size(2024 - age_range).sum()
    n = int(rng.poisson(P.cohort_size(year - 13) * scale * 0.95))
    mothers = choose_mothers(pop, n, year, rng)
    m = np.maximum(mothers, 0)
    has = mothers >= 0
    prov = np.where(has, pop.prov[m], rng.choice(len(P.PROVINCES), size=n, p=P.PROV_SHARE))
    sex = (rng.random(n) < 0.488).astype(np.int8)
    foreign_mother = has & (pop.nat[m] != P.BE)
    nat = np.where(foreign_mother & (rng.random(n) < 0.45), pop.nat[m], P.BE)
    idx = _new_people(
        pop,
        rng,
        alloc,
        year,
        np.full(n, 13),
        sex,
        np.zeros(n, bool),
        prov=prov,
        nat=nat,
        nat_first=nat,
        birth_country=np.full(n, P.BE),
        reg_year=np.full(n, year - 13),
        parent=mothers,
        german=has & pop.german[m],
    )
    _set_origin(pop, idx, rng)
    mo = np.where(
        pop.origin[m] >= 0, pop.origin[m], np.where(pop.nat_first[m] != P.BE, pop.nat_first[m], -1)
    )
    inherit = has & (mo >= 0)
    pop.origin[idx[inherit]] = mo[inherit]
    mdesc = np.where(pop.nat_first[m] != P.BE, pop.nat_first[m], -1)
    pop.descent[idx[has]] = np.where(mdesc[has] >= 0, mdesc[has], pop.descent[idx[has]])
    pop.descent[idx[inherit & (pop.descent[m] >= 0) & (mdesc < 0)]] = -1  # grandparents only
    _set_reason(pop, idx, rng)
    assign_education(pop, idx, rng, np.zeros(n, np.int8), np.zeros(n, np.int64))
    return idx


def immigrants(
    pop: Population,
    alloc: InszAllocator,
    persons: int,
    year: int,
    rng: np.random.Generator,
    be_share: float,
) -> np.ndarray:
    """New residents from abroad, as many as needed to keep `persons` residents aged 15-64."""
    age_all = ages(pop, year)
    scope = in_scope(pop, age_all)
    gap = persons - int(scope.sum())
    n = int(max(gap / 0.9, 0.006 * persons))
    # ages where the population falls short of the pyramid get the immigrants (young adults
    # first): this keeps the age structure of every year on the calibrated shape
    age_range = np.arange(P.FIRST_AGE, P.LAST_AGE + 1)
    want = P.cohort_size(year - age_range)
    want = want * persons / want[(age_range >= 15) & (age_range <= 64)].sum()
    have = np.bincount(
        age_all[scope | ((pop.status == RES) & ~pop.waiting)] - P.FIRST_AGE,
        minlength=age_range.size,
    )[: age_range.size]
    short = np.clip(want - have, 0, None)
    age_w = P.immigrant_age_weights() * (0.05 + short / max(short.max(), 1e-9))
    age = rng.choice(age_range, size=n, p=age_w / age_w.sum())
    sex = (rng.random(n) < 0.48).astype(np.int8)
    nat = np.where(
        rng.random(n) < be_share, P.BE, rng.choice(len(P.COUNTRIES), size=n, p=P.IMMIGRANT_MIX)
    )
    born_be = (nat == P.BE) & (rng.random(n) < 0.6)
    prov = rng.choice(len(P.PROVINCES), size=n, p=P.IMMIGRANT_PROV_P).astype(np.int8)
    waiting = P.ASYLUM[nat] & (rng.random(n) < 0.3)
    idx = _new_people(
        pop,
        rng,
        alloc,
        year,
        age,
        sex,
        rng.random(n) < 0.04,
        prov=prov,
        nat=nat,
        nat_first=nat,
        birth_country=np.where(born_be, P.BE, nat),
        reg_year=np.full(n, year),
        waiting=waiting,
        german=(prov == P.LIEGE) & (rng.random(n) < 0.04),
    )
    pop.origin[idx] = np.where(nat != P.BE, nat, -1)
    pop.descent[idx] = np.where(nat != P.BE, nat, -1)
    pop.reg_year[idx[born_be]] = year - age[born_be]
    _set_reason(pop, idx, rng)
    migrant = np.where(nat == P.BE, 0, np.where(P.COUNTRY_EU[nat], 1, 2))
    assign_education(pop, idx, rng, migrant, np.where(born_be, 0, age))
    _attach_minors(pop, idx, rng)
    return idx


def _attach_minors(pop: Population, idx: np.ndarray, rng: np.random.Generator) -> None:
    """Immigrant children under 18 arrive with an immigrant mother of the same batch."""
    age = pop.status_since[idx] - year_of(pop.birth[idx])
    minors = idx[age < 18]
    adult_f = idx[(pop.sex[idx] == 1) & (age >= 28) & (age <= 55)]
    if minors.size == 0 or adult_f.size == 0:
        return
    mother = adult_f[rng.integers(0, adult_f.size, minors.size)]
    pop.parent[minors] = mother
    for col in (
        "prov",
        "nat",
        "nat_first",
        "birth_country",
        "origin",
        "descent",
        "waiting",
        "reason",
        "german",
    ):
        pop.cols[col][minors] = pop.cols[col][mother]


def cross_border(
    pop: Population, alloc: InszAllocator, persons: int, year: int, rng: np.random.Generator
) -> np.ndarray:
    """Keep the pool of non-resident workers (mostly French and Dutch) at its share."""
    want = int(round(persons * CROSS_BORDER_SHARE))
    n = max(want - int((pop.status == NONRES).sum()), 0)
    age = rng.integers(20, 61, n)
    sex = (rng.random(n) < 0.38).astype(np.int8)
    nat = rng.choice(
        [P.C["FR"], P.C["NL"], P.C["DE"], P.C["LU"], P.BE, P.C["PL"]],
        size=n,
        p=[0.52, 0.33, 0.05, 0.02, 0.05, 0.03],
    )
    idx = _new_people(
        pop,
        rng,
        alloc,
        year,
        age,
        sex,
        np.ones(n, bool),
        status=np.full(n, NONRES),
        nat=nat,
        nat_first=nat,
        birth_country=nat,
        reg_year=np.full(n, year),
        origin=np.where(nat != P.BE, nat, -1),
        descent=np.where(nat != P.BE, nat, -1),
    )
    assign_education(pop, idx, rng, np.where(nat == P.BE, 0, 1), age)
    return idx


def foreign_share_target(year: int) -> np.ndarray:
    return np.array(
        [
            np.interp(year, [p[0] for p in pts], [p[1] for p in pts])
            for pts in (P.FOREIGN_SHARE_POINTS[r] for r in range(3))
        ]
    )


def naturalise(pop: Population, year: int, rng: np.random.Generator) -> float:
    """Naturalise as many long-settled foreigners as the share path asks; returns the Belgian
    share to use for next year's immigrants (lower when foreigners fall behind the path)."""
    age = ages(pop, year)
    scope = in_scope(pop, age)
    region = P.PROV_REGION[np.maximum(pop.prov, 0)]
    foreign = pop.nat != P.BE
    target = foreign_share_target(year)
    behind = 0.0
    for r in range(3):
        in_r = scope & (region == r)
        excess = int(foreign[in_r].sum() - target[r] * in_r.sum())
        if excess <= 0:
            behind += -excess
            continue
        eligible = np.flatnonzero(in_r & foreign & (year - pop.reg_year >= 5) & ~pop.waiting)
        take = min(excess, eligible.size)
        chosen = rng.choice(eligible, size=take, replace=False) if take else eligible[:0]
        pop.nat[chosen] = P.BE
        pop.reason[chosen] = 0
    return 0.04 if behind > 0.002 * scope.sum() else 0.12


def internal_moves(pop: Population, year: int, rng: np.random.Generator) -> None:
    """Households moving between provinces, towards the target province shares."""
    age = ages(pop, year)
    scope = in_scope(pop, age)
    key = household_key(pop)
    res = pop.status == RES
    heads = np.flatnonzero(res & (key == pop.pid))
    counts = np.bincount(pop.prov[scope], minlength=len(P.PROVINCES)).astype(float)
    # households leave provinces above their share faster (Brussels keeps receiving immigrants)
    excess = np.clip(1 - P.PROV_SHARE * scope.sum() / np.maximum(counts, 1), 0, None)
    moving = heads[rng.random(heads.size) < 0.012 + 0.6 * excess[pop.prov[heads]]]
    out = np.bincount(pop.prov[moving], minlength=len(P.PROVINCES))
    need = P.PROV_SHARE * scope.sum() - (counts - out * 1.6)
    p = np.clip(need, 0, None) + 1.0
    dest = rng.choice(len(P.PROVINCES), size=moving.size, p=p / p.sum()).astype(np.int8)
    members = np.flatnonzero(res & np.isin(key, pop.pid[moving]))
    pos = np.searchsorted(pop.pid[moving], key[members])
    pop.prov[members] = dest[pos]
    liege = pop.prov[members] == P.LIEGE
    pop.german[members] &= liege
