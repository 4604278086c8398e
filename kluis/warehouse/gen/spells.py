"""Social security spells overlapping Q4 (incapacity, payment, sickness/invalidity), disability
allowance rows and public welfare (OCMW/CPAS) support rows of a year.

Long incapacity follows the person's incapacity state and start date (invalidity after one year);
working persons add short sickness, maternity, birth leave and partial work resumption spells.
Per person, year and kind there is at most one spell (the most important one).
"""

from __future__ import annotations

import numpy as np

from kluis import codes
from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.state import (
    DISAB,
    INACT,
    INCAP,
    JS_IA,
    JS_NONE,
    NO_DATE,
    OTHER,
    SII,
    WORKING,
    Draws,
    Population,
    day_of,
)

MEDICAL = ("I", "II", "IV", "V", "VI", "IX", "X", "XI", "XIII", "XIX", "XVIII", "XV", "XXI")
_MEDICAL_P = np.array([1, 5, 2, 36, 4, 4, 2, 2, 30, 5, 3, 2, 4], dtype=float)
_MEDICAL_CUM = np.cumsum(_MEDICAL_P / _MEDICAL_P.sum())


def _hash_uniform(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A stable uniform number per (person, spell start): the same spell keeps its codes."""
    x = (
        a.astype(np.uint64) * np.uint64(2654435761)
        + b.astype(np.int64).astype(np.uint64) * np.uint64(40503)
    ) % np.uint64(2**32)
    x = (x ^ (x >> np.uint64(13))) * np.uint64(1274126177) % np.uint64(2**32)
    return x.astype(np.float64) / 2**32


def spells(
    pop: Population,
    rows: np.ndarray,
    age: np.ndarray,
    year: int,
    flags: dict,
    n_children: np.ndarray,
    single: np.ndarray,
    rng: np.random.Generator,
) -> dict:
    """Rows of ss_spells as arrays (person position, kind, dates, codes; -1 / NO_DATE = null)."""
    n = rows.size
    lab = pop.lab[rows]
    prev = pop.lab_prev[rows]
    start = pop.incap_start[rows].astype(np.int64)
    jan1 = int(day_of(year))
    days_in_year = int(day_of(year + 1)) - jan1
    q4, dec31 = jan1 + days_in_year - 92, jan1 + days_in_year - 1  # 1 October, 31 December
    working = np.isin(lab, WORKING)
    female = pop.sex[rows] == 1
    u = Draws(rng, n)
    # kind of incapacity per person (0 none): 1 long (state), 2 ended in Q4, 3 partial resumption,
    # 4 maternity, 5 birth leave, 6 adoption, 7 prophylactic, 8 short sickness
    long_ = (lab == INCAP) & (start != NO_DATE)
    end_day = jan1 + (u[0] * (dec31 - jan1)).astype(np.int64)
    ended = (
        (prev == INCAP) & (lab != INCAP) & (start != NO_DATE) & (end_day >= q4) & (end_day > start)
    )
    kind = np.select(
        [
            long_,
            ended,
            flags["st_work_invalidity"],
            working
            & female
            & (age >= 22)
            & (age <= 42)
            & (pop.young_kids[rows] > 0)
            & (u[1] < 0.07),
            working & ~female & (age >= 24) & (age <= 48) & (u[1] < 0.03),
            working & (u[2] < 0.0003),
            working & female & (age <= 42) & (u[2] > 0.998),
            flags["st_work_sickness_fund"],
        ],
        [1, 2, 3, 4, 5, 6, 7, 8],
        0,
    ).astype(np.int8)
    # from here on only the persons with a spell
    pos = np.flatnonzero(kind > 0)
    kind, start, end_day = kind[pos], start[pos], end_day[pos]
    s = np.where(kind <= 2, start, 0)
    e = np.where(kind == 2, end_day, NO_DATE)
    back = (365 * (2 + 4 * pop.trait[rows[pos]])).astype(np.int64)
    s = np.where(kind == 3, dec31 - back, s)
    u4, u3, u5 = u[4][pos], u[3][pos], u[5][pos]
    length = np.select(
        [kind == 4, kind == 5, kind == 6, kind == 7, kind == 8],
        [105, 10 + (u4 * 10).astype(np.int64), 42, 60, 5 + (u4 * 60).astype(np.int64)],
        0,
    )
    # leaves and short spells overlap Q4: they end after 1 October and start before 31 December
    leave_start = q4 - (u3 * length * 0.9).astype(np.int64) + (u5 * 80).astype(np.int64)
    s = np.where(kind >= 4, leave_start, s)
    e = np.where(kind >= 4, np.where(s + length <= dec31, s + length, NO_DATE), e)
    invalid = (kind <= 2) & (np.where(e == NO_DATE, dec31, e) - s > 365)
    day_type = np.select(
        [kind == 3, kind == 4, kind == 5, kind == 6, kind == 7, invalid], [7, 3, 4, 5, 6, 2], 1
    )  # code value of incapacity_day_type
    self_scheme = pop.trait[rows[pos]] < 0.08
    benefit = np.select(
        [kind == 4, (kind == 5) | (kind == 6), kind == 8, (day_type == 2) | (kind == 3)],
        [5, 6, 7, np.where(self_scheme, 4, 2)],
        np.where(self_scheme, 3, 1),
    )
    hu = _hash_uniform(pop.pid[rows[pos]], s)
    coded = (kind <= 3) & (hu < 0.92)
    med = np.where(coded, np.searchsorted(_MEDICAL_CUM, hu / 0.92), -1)
    med_type = np.where(kind <= 3, np.where(coded, 1, 2), np.where(kind == 8, 2, -1))
    rate = np.where(n_children[pos] > 0, 11, np.where(single[pos], 12, 13))
    minimum = (hu > 0.6) & (kind <= 3)
    bcode = np.where(kind >= 4, np.where(kind == 8, 99, 31), rate + 10 * minimum)
    # INC: every spell; SIV: incapacity proper (not leave); PAY: when an allowance is paid
    out = {
        "pos": [],
        "kind": [],
        "start": [],
        "end": [],
        "day_type": [],
        "benefit": [],
        "med_type": [],
        "med": [],
        "bcode": [],
    }

    def add(mask: np.ndarray, code: int, start: np.ndarray) -> None:
        m = np.flatnonzero(mask)
        out["pos"].append(pos[m])
        out["kind"].append(np.full(m.size, code, dtype=np.int8))
        out["start"].append(start[m])
        out["end"].append(e[m])
        out["day_type"].append(day_type[m])
        out["benefit"].append(benefit[m])
        out["med_type"].append(med_type[m])
        out["med"].append(med[m])
        out["bcode"].append(bcode[m])

    add(np.ones(pos.size, bool), 0, s)  # kinds: 0 INC, 1 PAY, 2 SIV
    paid_from = np.where(kind >= 4, s, np.maximum(s + 30, jan1))
    last = np.where(e == NO_DATE, dec31, e)
    add((benefit != 7) & (last >= paid_from) & (last >= q4) & (paid_from <= dec31), 1, paid_from)
    add(kind <= 3, 2, np.where(day_type == 2, s + 365, s))
    return {k: np.concatenate(v) for k, v in out.items()}


WELFARE_TYPES = codes.load("welfare_support_type").codes
_W = {c: i for i, c in enumerate(WELFARE_TYPES)}
# level-2 code index by (level-1 type 0..2, detail 0..3)
_W2 = np.array([[_W.get(f"{t}.{d}", -1) for d in range(1, 5)] for t in (1, 2, 3)])
_W1 = np.array([_W["1"], _W["2"], _W["3"]])


def welfare(
    pop: Population,
    rows: np.ndarray,
    sii: np.ndarray,
    lipro: np.ndarray,
    n_children: np.ndarray,
    resident: np.ndarray,
    rng: np.random.Generator,
) -> dict:
    """OCMW/CPAS support: level 1 type and level 2 detail (indices into WELFARE_TYPES) for the
    recipients of the year."""
    n = rows.size
    u = Draws(rng, n)
    other = resident & ~sii & np.isin(pop.lab[rows], (JS_IA, JS_NONE, SII, DISAB, INACT, OTHER))
    other &= u[0] < 0.05
    pos = np.flatnonzero(sii | other)
    r = rows[pos]
    equivalent = sii[pos] & (pop.nat[r] != P.BE) & (pop.reason[r] >= 5) & (u[1][pos] < 0.25)
    t1 = np.where(sii[pos], np.where(equivalent, 1, 0), 2)
    # social integration income by household situation: cohabitant, living alone, dependants
    fam = np.where(n_children[pos] > 0, 2, np.where(lipro[pos] == 0, 1, 0))
    detail = np.where(t1 == 2, (u[2][pos] * 4).astype(np.int64).clip(0, 3), fam)
    return {
        "pos": np.concatenate([pos, pos]),
        "level": np.r_[np.ones(pos.size, np.int8), np.full(pos.size, 2, np.int8)],
        "type": np.concatenate([_W1[t1], _W2[t1, detail]]),
    }


def disability_rows(pop: Population, rows: np.ndarray, resident: np.ndarray) -> dict:
    da = pop.da[rows]
    pos = np.flatnonzero((da > 0) & resident)
    return {"pos": pos, "type": da[pos].astype(np.int64)}  # 1..4 = codes "1".."4"
