"""Education: each person gets a final diploma when created; the diploma shown in a year follows
the path towards it (primary at 12, secondary at 18, bachelor at 21, ...), fixed after ~25."""

from __future__ import annotations

import numpy as np

from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.state import Population

# education_org_type codes: 1 Flemish, 2 French, 3 German-speaking Community, 4 adult education,
# 5 employment-service training, 6 foreign institution, 9 unknown -> indices 0..6
ORG_CODES = ("1", "2", "3", "4", "5", "6", "9")


def _choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return (u[:, None] > cum).sum(axis=1)


def assign_education(
    pop: Population,
    idx: np.ndarray,
    rng: np.random.Generator,
    migrant: np.ndarray,
    arrival_age: np.ndarray,
) -> None:
    """Draw final level, field, issuing organisation and a delay for persons `idx`.

    `migrant`: 0 Belgian-born, 1 EU immigrant, 2 non-EU immigrant; `arrival_age`: age at
    arrival (0 for the Belgian-born), deciding whether the diploma is foreign.
    """
    n = idx.size
    if n == 0:
        return
    sex = pop.sex[idx].astype(np.int64)
    byear = pop.birth[idx].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    probs = P.edu_broad_probs(byear)
    # women overtook men in higher education from the 1960s cohorts on
    shift = np.clip((byear - 1960) / 30, 0, 1) * 0.07 * np.where(sex == 1, 1, -1)
    probs[:, 2] += shift
    probs[:, 1] -= shift * 0.4
    probs[:, 0] -= shift * 0.6
    region = P.PROV_REGION[np.maximum(pop.prov[idx], 0)]
    brussels = region == P.BRUSSELS_REGION
    probs[brussels, 0] += 0.05
    probs[brussels, 2] += 0.04
    probs[brussels, 1] -= 0.09
    unknown = np.full(n, 0.02)
    eu = migrant == 1
    noneu = migrant == 2
    probs[eu] = [0.17, 0.33, 0.50]
    probs[noneu] = [0.36, 0.33, 0.31]
    unknown[eu] = 0.10
    unknown[noneu] = 0.22
    # those who arrive as children go to school here
    young = arrival_age < 16
    unknown[young] = 0.02
    probs = np.clip(probs, 0.01, None) * (1 - unknown[:, None])
    broad = _choose(rng, np.column_stack([probs, unknown]))
    level = np.full(n, P.L["999"], dtype=np.int8)
    for b, (levels, p) in enumerate(
        ((P.LOW_LEVELS, P.LOW_P), (P.MED_LEVELS, P.MED_P), (P.HIGH_LEVELS, P.HIGH_P))
    ):
        sel = broad == b
        level[sel] = levels[rng.choice(len(levels), size=int(sel.sum()), p=p)]
    # field of the final diploma
    field = np.full(n, P.GENERAL_FIELD, dtype=np.int8)
    tertiary = np.isin(level, P.HIGH_LEVELS)
    vocational = ~tertiary & ~np.isin(level, P.GENERAL_LEVELS) & (level != P.L["999"])
    for mask, table in ((tertiary, P.FIELD_P_TER), (vocational, P.FIELD_P_VOC)):
        for s in (0, 1):
            sel = mask & (sex == s)
            field[sel] = rng.choice(len(P.FIELDS), size=int(sel.sum()), p=table[s])
    field[level == P.L["999"]] = P.UNKNOWN_FIELD
    # issuing organisation
    org = np.where(region == 0, 0, 1).astype(np.int8)
    org[brussels & (rng.random(n) < 0.25)] = 0
    org[pop.german[idx]] = 2
    r = rng.random(n)
    org[(r < 0.04) & (broad <= 1)] = 3
    org[(r >= 0.04) & (r < 0.07) & (broad <= 1)] = 4
    foreign = arrival_age >= 19
    org[foreign] = np.where(rng.random(int(foreign.sum())) < 0.75, 5, 6)
    org[level == P.L["999"]] = 6
    org[level == P.L["000"]] = -1
    pop.edu_final[idx] = level
    pop.field_final[idx] = field
    pop.edu_org[idx] = org
    pop.edu_delay[idx] = rng.choice(4, size=n, p=[0.55, 0.28, 0.12, 0.05])


def current_education(
    pop: Population, rows: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(level index, field index) reached by `age` along each person's path."""
    final = pop.edu_final[rows].astype(np.int64)
    delay = pop.edu_delay[rows].astype(np.int64)
    reached = (P.PATH_AGE[final] + delay[:, None]) <= age[:, None]
    step = np.maximum(reached.sum(axis=1) - 1, 0)
    level = P.PATH_LEVEL[final, step]
    field = np.where(level == final, pop.field_final[rows], P.GENERAL_FIELD)
    # the Belgian-born reach their first step (primary) at 12: everybody here is 13+
    return level.astype(np.int8), field.astype(np.int8)


def education_broad(level: np.ndarray) -> np.ndarray:
    """low 0, medium 1, high 2, unknown 3."""
    return P.EDU_BROAD[level]
