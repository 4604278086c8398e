"""Jobs: who works for which employer, at what intensity and wage, and the employment rows of the
year (jobs held on 31 December, jobs that ended during the year, second jobs, student jobs).

Employees keep their employer from year to year unless they change jobs, lose their job or the
employer closes; new hires go to employers with room, leaning towards sectors that fit the field
of their diploma. Wages are log-additive in education, sector, sex, age, a person effect and an
employer premium, with the level set each year so the full-time median hits the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.employers import Employers, set_capacity
from kluis.warehouse.gen.state import COMBO, EMP, STUDENT, Population

NACE_78 = P.NACE.index("78")
_SECTION_A, _SECTION_G, _SECTION_I = (P.SECTION_LETTERS.index(s) for s in "AGI")


@dataclass
class Ended:
    """Jobs that ended during the year: person row, employer, months worked, job FTE."""

    person: np.ndarray
    employer: np.ndarray
    months: np.ndarray
    fte: np.ndarray


def _field_group(field: np.ndarray) -> np.ndarray:
    b = P.FIELD_BROAD[field]
    return np.where(b == 99, 11, b)


def _draw_employers(
    er: Employers, vac: np.ndarray, group: np.ndarray, rng: np.random.Generator, rounds: int = 4
) -> np.ndarray:
    """An employer per hire, drawn in proportion to room (vacancies) x fit with the hire's
    field; an employer never gets many more hires than it has room for (overflow is redrawn)."""
    out = np.full(group.size, -1, dtype=np.int64)
    sec = er.section.astype(np.int64)
    room = vac.copy()
    todo = np.arange(group.size)
    for r in range(rounds):
        if todo.size == 0:
            break
        drawn = np.full(todo.size, -1, dtype=np.int64)
        g_todo = group[todo]
        for g in np.unique(g_todo):
            sel = np.flatnonzero(g_todo == g)
            cum = np.cumsum(room * P.AFFINITY[g, sec])
            if cum[-1] <= 0:
                cum = np.cumsum(np.where(er.alive, er.cap + 1e-3, 0.0))
            drawn[sel] = np.searchsorted(cum, rng.random(sel.size) * cum[-1], side="right")
        drawn = np.minimum(drawn, len(er) - 1)
        if r == rounds - 1:
            out[todo] = drawn
            break
        # accept up to the (rounded up) room of each employer, in random order
        order = np.argsort(drawn, kind="stable")
        d = drawn[order]
        first = np.r_[True, d[1:] != d[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(d.size) - np.repeat(starts, np.diff(np.r_[starts, d.size]))
        ok = rank < np.floor(room[d] + rng.random(d.size))  # unbiased rounding of the room
        accepted = todo[order[ok]]
        out[accepted] = d[ok]
        room = np.maximum(room - np.bincount(d[ok], minlength=len(er)), 0.0)
        todo = np.sort(todo[order[~ok]])
    return out


def _new_terms(n: int, female: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ft_p = np.where(female, 0.58, 0.88) - np.where(age < 25, 0.15, 0) - np.where(age >= 55, 0.12, 0)
    ft = rng.random(n) < ft_p
    return np.where(ft, 1.0, rng.choice([0.5, 0.6, 0.8], size=n, p=[0.45, 0.2, 0.35]))


def assign_jobs(
    pop: Population,
    er: Employers,
    rows: np.ndarray,
    age: np.ndarray,
    field: np.ndarray,
    year: int,
    rng: np.random.Generator,
    persons: int,
) -> tuple[Ended, Ended]:
    """Set main and second employers of present `rows`; returns the ended (main, second) jobs."""
    n = rows.size
    lab = pop.lab[rows]
    want = (lab == EMP) | (lab == COMBO)
    cur = pop.employer[rows].astype(np.int64)
    cur2 = pop.employer2[rows].astype(np.int64)
    old_fte, old_fte2 = pop.job_fte[rows].copy(), pop.job2_fte[rows].copy()
    ok = (cur >= 0) & er.alive[np.maximum(cur, 0)]
    ok2 = (cur2 >= 0) & er.alive[np.maximum(cur2, 0)]
    keep2 = (lab == EMP) & ok2 & (rng.random(n) < 0.75)
    new2 = (lab == EMP) & ~keep2 & (rng.random(n) < 0.012)
    set_capacity(er, int(want.sum() + keep2.sum() + new2.sum()), persons)
    # employers above their size shed staff, on top of voluntary job changes
    before = np.bincount(cur[want & ok], minlength=len(er)) + np.bincount(
        cur2[keep2], minlength=len(er)
    )
    ratio = before / np.maximum(er.cap, 0.5)
    shed = np.clip(1 - 1.1 / np.maximum(ratio, 1e-9), 0, 0.6)
    p_change = np.interp(age, [15, 25, 35, 50, 66], [0.2, 0.14, 0.07, 0.04, 0.03])
    keep = want & ok & (rng.random(n) >= p_change + shed[np.maximum(cur, 0)])
    staff = np.bincount(cur[keep], minlength=len(er)) + np.bincount(cur2[keep2], minlength=len(er))
    vac = np.where(er.alive, np.maximum(er.cap - staff, 0) + 0.01 * er.cap, 0.0)
    hires = np.flatnonzero(want & ~keep)
    chosen = _draw_employers(er, vac, _field_group(field[hires]), rng)
    same = chosen == cur[hires]
    chosen[same] = _draw_employers(er, vac, _field_group(field[hires[same]]), rng)
    stays = hires[chosen == cur[hires]]
    keep[stays] = True
    hires, chosen = hires[chosen != cur[hires]], chosen[chosen != cur[hires]]
    main = np.where(keep, cur, -1)
    main[hires] = chosen
    ended = (cur >= 0) & (main != cur)
    end_month = rng.integers(0, 12, n)
    start = np.where(ended, end_month, rng.integers(0, 12, n))
    female = pop.sex[rows] == 1
    job_start = pop.job_start[rows]
    job_start[hires] = year * 12 + start[hires]
    fte = pop.job_fte[rows]
    fte[hires] = _new_terms(hires.size, female[hires], age[hires], rng)
    flip = keep & (rng.random(n) < 0.03)
    fte[flip] = np.where(fte[flip] >= 1, 0.8, 1.0)
    wpt = pop.wpt[rows]
    wpt[:] = np.where(fte >= 1, 1, 2)
    emp_nace = er.nace[np.maximum(main, 0)]
    emp_sec = er.section[np.maximum(main, 0)]
    wpt[emp_nace == NACE_78] = 3
    seasonal = np.isin(emp_sec, [_SECTION_A, _SECTION_I]) & (pop.trait[rows] < 0.12)
    wpt[seasonal & (emp_nace != NACE_78)] = 4
    wpt[main < 0] = 0
    # second jobs
    second = np.where(keep2, cur2, -1)
    idx2 = np.flatnonzero(new2)
    chosen2 = _draw_employers(er, vac, np.zeros(idx2.size, dtype=np.int64), rng)
    good = chosen2 != main[idx2]
    second[idx2[good]] = chosen2[good]
    second[second == main] = -1
    fte2 = pop.job2_fte[rows]
    fte2[idx2] = rng.choice([0.2, 0.3, 0.5], size=idx2.size)
    ended2 = (cur2 >= 0) & (second != cur2)
    pop.employer[rows] = main
    pop.employer2[rows] = second
    pop.job_start[rows] = job_start
    pop.job_fte[rows] = fte
    pop.job2_fte[rows] = fte2
    pop.wpt[rows] = wpt
    e1 = np.flatnonzero(ended)
    e2 = np.flatnonzero(ended2)
    return (
        Ended(e1, cur[e1], end_month[e1] + 0.5, old_fte[e1]),
        Ended(e2, cur2[e2], rng.integers(1, 12, e2.size).astype(float), old_fte2[e2]),
    )


def log_wage(
    pop: Population,
    er: Employers,
    rows: np.ndarray,
    employer: np.ndarray,
    age: np.ndarray,
    level: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Log monthly full-time wage before the yearly level: education, sector, sex, age, person
    and employer effects."""
    a = np.clip(age.astype(float), 18, 66) - 18
    return (
        P.EDU_WAGE[level]
        + P.SECTION_WAGE[er.section[employer]]
        - 0.12 * (pop.sex[rows] == 1)
        + 0.026 * a
        - 0.00034 * a**2
        + pop.wage_eff[rows]
        + er.premium[employer]
        + rng.normal(0, 0.04, rows.size)
    )


def _floor(monthly: np.ndarray, median: float) -> np.ndarray:
    """Minimum wages: below the floor, wages land just above it (sector minima differ), so there
    is no mass of identical wages at one amount."""
    floor = P.MINIMUM_WAGE_RATIO * median
    low = monthly < floor
    spread = np.log(floor / np.maximum(monthly[low], 1.0))  # how far below: deeper, a bit higher
    out = monthly.copy()
    out[low] = floor * np.exp(0.12 * np.tanh(spread))
    return out


@dataclass
class JobYear:
    """Employment rows of a year (person row, employer, wage, fte, days, on 31 Dec) plus, per
    present person, the main job's daily wage, the year's total FTE and days."""

    person: np.ndarray
    employer: np.ndarray
    wage: np.ndarray
    fte: np.ndarray
    days: np.ndarray
    on_31_dec: np.ndarray
    daily_wage: np.ndarray
    fte_total: np.ndarray


def employment_rows(
    pop: Population,
    er: Employers,
    rows: np.ndarray,
    age: np.ndarray,
    level: np.ndarray,
    year: int,
    ended: tuple[Ended, Ended],
    rng: np.random.Generator,
) -> JobYear:
    n = rows.size
    main = pop.employer[rows].astype(np.int64)
    has = np.flatnonzero(main >= 0)
    e = main[has]
    lw = log_wage(pop, er, rows[has], e, age[has], level[has], rng)
    ft = pop.wpt[rows[has]] == 1
    median = P.wage_median(year)
    c = np.log(median) - (np.median(lw[ft]) if ft.any() else 0.0)
    monthly = _floor(np.exp(c + lw), median)
    fte_job = pop.job_fte[rows[has]].astype(float)
    start_m = np.clip(pop.job_start[rows[has]] - year * 12, 0, 11)
    frac = (12 - start_m) / 12
    dayshare = np.where(fte_job >= 1, 1.0, np.sqrt(fte_job))
    daily = np.full(n, np.nan)
    daily[has] = monthly * fte_job / dayshare / P.DAYS_PER_MONTH
    parts = [
        (
            has,
            e,
            monthly * P.MONTHS_TAXABLE * frac * fte_job,
            frac * fte_job,
            260 * frac * dayshare,
            np.ones(has.size, bool),
        )
    ]
    # second jobs on 31 December
    e2 = pop.employer2[rows].astype(np.int64)
    has2 = np.flatnonzero(e2 >= 0)
    m2 = _floor(
        np.exp(c + log_wage(pop, er, rows[has2], e2[has2], age[has2], level[has2], rng)), median
    )
    f2 = pop.job2_fte[rows[has2]].astype(float)
    parts.append(
        (
            has2,
            e2[has2],
            m2 * P.MONTHS_TAXABLE * f2,
            f2,
            260 * np.sqrt(f2),
            np.ones(has2.size, bool),
        )
    )
    # jobs that ended during the year
    for job in ended:
        frac_e = job.months / 12
        lw_e = log_wage(
            pop, er, rows[job.person], job.employer, age[job.person], level[job.person], rng
        )
        m = _floor(np.exp(c + lw_e), median)
        f = job.fte.astype(float)
        parts.append(
            (
                job.person,
                job.employer,
                m * P.MONTHS_TAXABLE * frac_e * f,
                frac_e * f,
                260 * frac_e * np.sqrt(f),
                np.zeros(job.person.size, bool),
            )
        )
    parts.append(_student_jobs(pop, er, rows, age, year, rng))
    person = np.concatenate([p[0] for p in parts])
    employer = np.concatenate([p[1] for p in parts])
    key = person.astype(np.int64) * len(er) + employer
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(first)

    def summed(i: int) -> np.ndarray:
        return np.add.reduceat(np.concatenate([p[i] for p in parts])[order], starts)

    on31 = np.logical_or.reduceat(np.concatenate([p[5] for p in parts])[order], starts)
    person_u = person[order][starts]
    fte_rows = np.minimum(summed(3), 1.5)
    fte_total = np.bincount(person_u, weights=fte_rows, minlength=n)
    return JobYear(
        person_u,
        employer[order][starts],
        summed(2),
        fte_rows,
        np.minimum(np.round(summed(4)), 366).astype(np.int16),
        on31,
        daily,
        np.where(np.bincount(person_u, minlength=n) > 0, fte_total, np.nan),
    )


def _student_jobs(
    pop: Population,
    er: Employers,
    rows: np.ndarray,
    age: np.ndarray,
    year: int,
    rng: np.random.Generator,
) -> tuple:
    """Short student jobs during the year (not held on 31 December)."""
    p = np.interp(age, [15, 16, 18, 21, 24, 25], [0.0, 0.25, 0.45, 0.55, 0.45, 0.0])
    who = np.flatnonzero((pop.lab[rows] == STUDENT) & (rng.random(rows.size) < p))
    w = np.where(
        er.alive & np.isin(er.section, [_SECTION_G, _SECTION_I]) | (er.nace == NACE_78), er.cap, 0.0
    )
    cum = np.cumsum(w)
    if who.size == 0 or cum[-1] <= 0:
        z = np.zeros(0)
        return (who[:0], who[:0], z, z, z, np.zeros(0, bool))
    employer = np.searchsorted(cum, rng.random(who.size) * cum[-1], side="right").clip(
        0, len(er) - 1
    )
    days = rng.integers(8, 46, who.size).astype(float)
    wage = days * rng.uniform(90, 135, who.size)
    return (who, employer, wage, days / 260 * 0.6, days, np.zeros(who.size, bool))
