"""Target distribution of the labour state per cell (region x sex x age x education x migrant
group) for a year: the stationary point the yearly transitions steer to.

Profiles by age give students, pensioners, SWT, incapacity, disability and social integration
income; employment and unemployment are logistic in age, education and migrant group with
intercepts per region and sex solved so that the population totals hit the calibration targets.
"""

from __future__ import annotations

import numpy as np

from kluis.warehouse import calibration as cal
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
    JS_IA,
    JS_NONE,
    JS_UB,
    N_LAB,
    OTHER,
    PENS,
    SELF,
    SII,
    STUDENT,
    SWT,
)

N_REG, N_SEX, N_EDU, N_MIG = 3, 2, 4, 3
SHAPE = (N_REG, N_SEX, P.N_AGES, N_EDU, N_MIG)
N_CELLS = int(np.prod(SHAPE))
AGES = np.arange(P.FIRST_AGE, P.LAST_AGE + 1)


def cell_index(
    region: np.ndarray, sex: np.ndarray, age: np.ndarray, edu: np.ndarray, mig: np.ndarray
) -> np.ndarray:
    a = np.clip(age.astype(np.int64) - P.FIRST_AGE, 0, P.N_AGES - 1)
    return np.ravel_multi_index(
        (
            region.astype(np.int64),
            sex.astype(np.int64),
            a,
            edu.astype(np.int64),
            mig.astype(np.int64),
        ),
        SHAPE,
    )


def _grid() -> dict[str, np.ndarray]:
    r, s, a, e, m = np.meshgrid(
        np.arange(N_REG), np.arange(N_SEX), AGES, np.arange(N_EDU), np.arange(N_MIG), indexing="ij"
    )
    return {
        "region": r.ravel(),
        "sex": s.ravel(),
        "age": a.ravel(),
        "edu": e.ravel(),
        "mig": m.ravel(),
    }


G = _grid()


def _ramp(year: int, start: int, end: int, v0: float, v1: float) -> float:
    return float(np.interp(year, [start, end], [v0, v1]))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _fixed_states(year: int) -> np.ndarray:
    """(cells, N_LAB) shares of the states that follow age profiles."""
    age, edu, sex, reg, mig = G["age"], G["edu"], G["sex"], G["region"], G["mig"]
    out = np.zeros((N_CELLS, N_LAB))
    stud = {
        2: [1, 1, 1, 1, 1, 0.97, 0.95, 0.92, 0.85, 0.68, 0.48, 0.28, 0.08, 0.02],
        1: [1, 1, 1, 1, 0.97, 0.75, 0.5, 0.3, 0.15, 0.08, 0.04, 0.02, 0.01, 0.0],
        0: [0.99, 0.99, 0.97, 0.9, 0.75, 0.4, 0.2, 0.08, 0.04, 0.02, 0.02, 0.02, 0.0, 0.0],
    }
    idx = np.clip(age - 13, 0, 13)
    out[:, STUDENT] = np.select(
        [edu == 2, edu == 0], [np.take(stud[2], idx), np.take(stud[0], idx)], np.take(stud[1], idx)
    )
    out[age > 26, STUDENT] = 0.0
    late = year >= 2025
    early = 1.35 if year < 2013 else _ramp(year, 2013, 2019, 1.2, 1.0)
    pens = np.interp(
        age,
        [59, 60, 61, 62, 63, 64, 65, 66],
        [0, 0.05, 0.09, 0.16, 0.24, 0.32, 0.30 if late else 0.82, 0.85],
    )
    out[:, PENS] = np.where(age < 65, np.minimum(pens * early, 0.6), pens)
    swt = np.interp(age, [54, 55, 59, 60, 64, 65], [0, 0.04, 0.05, 0.14, 0.14, 0])
    out[:, SWT] = swt * (1.0 if year < 2012 else _ramp(year, 2012, 2024, 1.0, 0.25))
    out[:, CB] = np.where((age >= 25) & (age <= 50), np.where(sex == 1, 0.004, 0.0015), 0.0008)
    out[age < 18, CB] = 0.0
    inc = np.interp(
        age,
        [15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 64, 66],
        [0.002, 0.008, 0.022, 0.035, 0.048, 0.062, 0.08, 0.10, 0.125, 0.14, 0.13, 0.04],
    )
    inc = inc * np.where(sex == 1, 1.12, 0.88) * np.array([0.85, 1.3, 0.95])[reg]
    inc = inc * np.array([1.5, 1.0, 0.5, 1.1])[edu] * np.array([1.0, 0.9, 1.1])[mig]
    out[:, INCAP] = (
        inc * 1.06 * _ramp(year, 2003, 2024, 0.62, 1.0) * (1 + 0.01 * max(year - 2024, 0))
    )
    dis = np.interp(
        age, [15, 20, 30, 40, 50, 60, 66], [0.004, 0.012, 0.011, 0.013, 0.017, 0.021, 0.01]
    )
    out[:, DISAB] = 0.85 * dis * np.array([2.0, 0.8, 0.3, 1.0])[edu]
    sii = np.interp(
        age, [17, 18, 21, 25, 35, 50, 64, 66], [0, 0.03, 0.03, 0.017, 0.012, 0.009, 0.007, 0.002]
    )
    sii = sii * np.array([0.5, 1.5, 2.9])[reg] * np.array([0.7, 1.1, 4.0])[mig]
    out[:, SII] = (
        0.85 * sii * np.array([1.8, 1.0, 0.35, 1.5])[edu] * _ramp(year, 2003, 2024, 0.6, 1.0)
    )
    ex_old = np.interp(age, [49, 50, 55, 60, 64, 65], [0, 0.01, 0.05, 0.07, 0.07, 0])
    ex_old = ex_old * (1.0 if year < 2012 else _ramp(year, 2012, 2018, 1.0, 0.1))
    out[:, EXEMPT] = np.where((age >= 18) & (age <= 64), 0.003 + ex_old, 0.0)
    out[age < 15, :] = 0.0
    out[age < 15, STUDENT] = 0.995
    total = out.sum(axis=1)
    over = total > 0.98
    out[over] *= (0.98 / total[over])[:, None]
    return out


def _emp_logit() -> np.ndarray:
    age, edu, mig, sex = G["age"], G["edu"], G["mig"], G["sex"]
    f = np.interp(
        age,
        [15, 17, 19, 22, 25, 30, 40, 50, 55, 58, 60, 63, 65, 66],
        [-3.5, -2.5, -0.9, 0.0, 0.7, 1.0, 1.1, 0.9, 0.6, 0.1, -0.5, -1.1, -2.0, -2.5],
    )
    f = f - np.where((sex == 1) & (age >= 25) & (age <= 40), 0.2, 0.0)
    return f + np.array([-0.85, 0.0, 0.75, -0.5])[edu] + np.array([0.0, -0.05, -0.9])[mig]


def _unemp_logit() -> np.ndarray:
    age, edu, mig = G["age"], G["edu"], G["mig"]
    f = np.interp(
        age, [15, 20, 25, 30, 40, 50, 55, 60, 66], [1.0, 0.8, 0.35, 0.1, 0, -0.05, 0.0, 0.1, -1.0]
    )
    return f + np.array([0.75, 0.0, -0.65, 0.4])[edu] + np.array([0.0, 0.1, 0.85])[mig]


EMP_LOGIT = _emp_logit()
UNEMP_LOGIT = _unemp_logit()


def employment_target(region: int, sex: int, year: int) -> float:
    base = cal.EMPLOYMENT_RATE[(P.REGIONS[region], str(sex + 1))]
    trend = -0.0029 * (2024 - year) if year < 2024 else 0.002 * (year - 2024)
    return base + trend


def unemployment_target(region: int, sex: int, year: int) -> float:
    base = cal.UNEMPLOYMENT_RATE[(P.REGIONS[region], str(sex + 1))]
    fac = float(
        np.interp(year, [2003, 2014, 2016, 2019, 2020, 2022], [1.35, 1.35, 1.22, 1.0, 1.04, 1.0])
    )
    return base * fac


def _solve(weights: np.ndarray, group: np.ndarray, value, targets: np.ndarray) -> np.ndarray:
    """Per group g, the intercept x_g with sum(w * value(x)) / sum(w) = target_g (bisection)."""
    lo = np.full(targets.size, -12.0)
    hi = np.full(targets.size, 12.0)
    wsum = np.bincount(group, weights=weights, minlength=targets.size)
    for _ in range(45):
        mid = (lo + hi) / 2
        got = np.bincount(group, weights=weights * value(mid[group]), minlength=targets.size)
        below = got < targets * wsum
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2


def group_targets(year: int) -> tuple[np.ndarray, np.ndarray]:
    """(employment rate, unemployment rate) targets per region x sex group (region * 2 + sex)."""
    emp_t = np.array([employment_target(g // 2, g % 2, year) for g in range(6)])
    un_t = np.array([unemployment_target(g // 2, g % 2, year) for g in range(6)])
    return emp_t, un_t


def build_targets(year: int, counts: np.ndarray, adjust: dict | None = None) -> np.ndarray:
    """(cells, N_LAB) target shares; `counts` = current persons per cell (for the solving);
    `adjust` = running corrections per region x sex ('e' added, 'u' multiplied) that make up for
    the lag of the transitions behind the targets."""
    fixed = _fixed_states(year)
    avail = np.clip(1.0 - fixed.sum(axis=1), 0.0, 1.0)
    in_1564 = (G["age"] >= 15) & (G["age"] <= 64)
    w = counts * in_1564
    group = G["region"] * 2 + G["sex"]
    emp_t, un_t = group_targets(year)
    if adjust is not None:
        emp_t = emp_t + adjust["e"]
        un_t = un_t * adjust["u"]

    def emp(alpha: np.ndarray) -> np.ndarray:
        return avail * _sigmoid(alpha + EMP_LOGIT)

    alpha = _solve(w, group, emp, emp_t)
    e = emp(alpha[group])

    def js_rate(beta: np.ndarray) -> np.ndarray:
        u = _sigmoid(beta + UNEMP_LOGIT)
        return np.minimum(e * u / (1 - u), (avail - e) * 0.9)

    # unemployment u = J / (E + J)  <=>  J = E * u / (1 - u), per region and sex
    wsum = np.maximum(np.bincount(group, weights=w, minlength=6), 1e-12)
    e_mean = np.bincount(group, weights=w * e, minlength=6) / wsum
    beta = _solve(w, group, js_rate, e_mean * un_t / (1 - un_t))
    j = js_rate(beta[group])
    out = fixed.copy()
    age, sex, mig, reg = G["age"], G["sex"], G["mig"], G["region"]
    self_share = np.interp(
        age, [15, 20, 25, 30, 40, 50, 60, 66], [0.0, 0.03, 0.07, 0.10, 0.14, 0.17, 0.22, 0.45]
    )
    self_share = self_share * np.where(sex == 0, 1.25, 0.75) * np.array([1.0, 1.3, 0.9])[mig]
    helper = np.where((sex == 1) & (age >= 40), 0.012, 0.004)
    combo = np.where(age >= 22, 0.03, 0.0)
    out[:, SELF] = e * self_share
    out[:, HELP] = e * helper
    out[:, COMBO] = e * combo
    out[:, EMP] = e * (1 - self_share - helper - combo)
    ia = np.where(age < 25, 0.35, np.where(age < 30, 0.18, 0.02))
    none = np.array([0.25, 0.3, 0.38])[mig]
    out[:, JS_IA] = j * ia
    out[:, JS_NONE] = j * none
    out[:, JS_UB] = j * (1 - ia - none)
    rest = np.clip(avail - e - j, 0.0, 1.0)
    other = np.array([0.35, 0.6, 0.5])[mig] + np.where(reg == P.BRUSSELS_REGION, 0.15, 0.0)
    out[:, OTHER] = rest * other
    out[:, INACT] = rest * (1 - other)
    young = age < 15
    out[young] = 0.0
    out[young, STUDENT] = 0.995
    out[young, OTHER] = 0.005
    out /= out.sum(axis=1, keepdims=True)
    return out
