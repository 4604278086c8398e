"""Employers: born with a typical size from a heavy-tailed distribution (many with 1-4 staff, a few
with thousands), growing and shrinking around it, and closing (small ones more often). About
257,000 have staff in a year at national scale."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kluis.warehouse.calibration import NATIONAL_PERSONS, target
from kluis.warehouse.gen import params as P
from kluis.warehouse.identifiers import unique_bases, with_check_digits

ER_FIELDS: dict[str, tuple[str, object]] = {
    "kbo": ("int64", 0),
    "rsz": ("int64", 0),
    "nace": ("int8", 0),
    "section": ("int8", 0),
    "public": ("bool", False),
    "founded": ("int16", 0),
    "closed": ("int16", -1),
    "cap0": ("float32", 1.0),
    "dev": ("float32", 0.0),
    "premium": ("float32", 0.0),
    "alive": ("bool", True),
    "first_year": ("int16", -1),
    "last_year": ("int16", -1),
    "staff_now": ("int32", 0),
    "staff_sum": ("int64", 0),
    "staff_years": ("int32", 0),
    "cap": ("float32", 0.0),
    "out_rows": ("bool", False),
}
_DIVISIONS_OF = [np.flatnonzero(s == P.NACE_SECTION) for s in range(21)]
_PUBLIC_P = np.array([P.PUBLIC_SHARE.get(code, 0.0) for code in P.NACE])


@dataclass
class Employers:
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    key: int = 0
    n_kbo_old: int = 0
    n_kbo_new: int = 0
    n_rsz: int = 0

    def __post_init__(self) -> None:
        if not self.cols:
            self.cols = {k: np.empty(0, dtype=d) for k, (d, _) in ER_FIELDS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self.cols["kbo"])

    def append(self, n: int, **values: np.ndarray) -> None:
        for name, (dtype, default) in ER_FIELDS.items():
            new = values.get(name)
            new = np.full(n, default, dtype=dtype) if new is None else np.asarray(new, dtype)
            self.cols[name] = np.concatenate([self.cols[name], new])


def employer_count(persons: int, year: int) -> int:
    """Employers alive (with staff) wanted for a warehouse of `persons`."""
    trend = float(np.interp(year, [2003, 2024], [0.92, 1.0]))
    # ~5% more have employments in a year: those closing during it
    return int(round(0.95 * target("employers").value * persons / NATIONAL_PERSONS * trend))


def _typical_sizes(n: int, rng: np.random.Generator, newborn: bool, max_size: float) -> np.ndarray:
    if newborn:
        shares = np.array([0.9, 0.07, 0.025, 0.005])
        classes = P.SIZE_CLASSES[:4]
    else:
        shares = np.array([c[2] for c in P.SIZE_CLASSES])
        classes = P.SIZE_CLASSES
    k = rng.choice(len(classes), size=n, p=shares / shares.sum())
    lo = np.array([c[0] for c in classes], dtype=float)[k]
    hi = np.array([c[1] for c in classes], dtype=float)[k] + 1
    top = k == len(P.SIZE_CLASSES) - 1
    size = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    # the largest employers: a Pareto tail above 1,000 staff
    size[top] = 1000 * (1 - rng.random(int(top.sum()))) ** (-1 / 0.9)
    return np.minimum(size, max_size)


def create(
    er: Employers, n: int, year: int, rng: np.random.Generator, newborn: bool, persons: int
) -> None:
    """Add `n` employers; the first population gets foundation years in the past.

    No employer is larger than 5% of the warehouse's persons (and 120,000 staff), so that a small
    warehouse is a scaled-down Belgium rather than one dominated by a single giant.
    """
    if n <= 0:
        return
    section = rng.choice(21, size=n, p=P.SECTION_COUNT_W / P.SECTION_COUNT_W.sum())
    pick = rng.random(n)
    nace = division_in_section(section, pick)
    public = rng.random(n) < _PUBLIC_P[nace]
    max_size = float(np.clip(0.05 * persons, 5.0, 120_000.0))
    size = _typical_sizes(n, rng, newborn, max_size)
    big = size >= 50
    size[big] = np.minimum(size[big] * P.SECTION_SIZE_MULT[section[big]] ** 0.5, max_size)
    # public employers: fewer, larger, without the private sector's extreme tail
    n_pub = int(public.sum())
    size[public] = np.minimum(
        np.exp(rng.normal(np.log(15 if not newborn else 5), 1.4, n_pub)), max_size
    )
    if newborn:
        founded = np.full(n, year)
    else:
        age = rng.exponential(8 + 4 * np.log1p(size)).astype(np.int64)
        founded = np.maximum(year - age, 1900)
    new_kbo = founded >= 2023
    kbo_base = np.zeros(n, dtype=np.int64)
    n_new = int(new_kbo.sum())
    kbo_base[new_kbo] = unique_bases(n_new, 10_000_000, 11_000_000, er.n_kbo_new, er.key)
    kbo_base[~new_kbo] = unique_bases(n - n_new, 2_000_000, 10_000_000, er.n_kbo_old, er.key + 1)
    er.n_kbo_new += n_new
    er.n_kbo_old += n - n_new
    rsz_base = unique_bases(n, 100_000, 10_000_000, er.n_rsz, er.key + 2)
    er.n_rsz += n
    er.append(
        n,
        kbo=with_check_digits(kbo_base),
        rsz=with_check_digits(rsz_base),
        nace=nace,
        section=section,
        public=public,
        founded=founded,
        cap0=size,
        premium=rng.normal(0, 0.08, n) + 0.03 * np.log10(size),
        dev=np.zeros(n),
    )


def division_in_section(section: np.ndarray, u: np.ndarray) -> np.ndarray:
    counts = np.array([len(d) for d in _DIVISIONS_OF])
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    flat = np.concatenate(_DIVISIONS_OF)
    return flat[offsets[section] + (u * counts[section]).astype(np.int64)]


def step_employers(er: Employers, persons: int, year: int, rng: np.random.Generator) -> None:
    """Closures at the start of the year, births to keep the wanted number, size changes."""
    n = len(er)
    alive = er.alive
    staff = er.staff_now
    empty = alive & (staff == 0) & (er.first_year >= 0)
    er.closed[empty] = er.last_year[empty]
    stale = alive & (er.first_year < 0) & (er.founded < year - 1)
    p_close = np.select(
        [staff < 5, staff < 10, staff < 50, staff < 250], [0.085, 0.05, 0.03, 0.015], 0.005
    )
    closing = alive & ~empty & ~stale & (rng.random(n) < p_close)
    er.closed[closing] = year
    er.alive[empty | stale | closing] = False
    er.dev[:] = 0.85 * er.dev + rng.normal(0, 0.12, n).astype(np.float32)
    create(
        er,
        employer_count(persons, year) - int(er.alive.sum()),
        year,
        rng,
        newborn=True,
        persons=persons,
    )


def set_capacity(er: Employers, jobs: int, persons: int) -> None:
    """Sizes for this year such that the alive employers offer exactly `jobs` jobs in total.

    Typical sizes are bent, not scaled: size * (max(size, pivot) / pivot) ** g with g solved for
    the total. With pivot 100 only the large employers absorb the difference, so the size
    classes below keep their shares; a small warehouse without enough large employers bends
    from pivot 5 (a uniform scale would push the 1-4 class into 5-9)."""
    base = np.where(er.alive, er.cap0 * np.exp(er.dev), 0.0)
    top = max(float(np.clip(0.05 * persons, 5.0, 120_000.0)), jobs * 0.02)
    for pivot in (100.0, 5.0):
        rel = np.log(np.maximum(base, pivot) / pivot)  # total(g) increases with g

        def total(g: float, rel: np.ndarray = rel) -> float:
            return float(np.minimum(base * np.exp(g * rel), top).sum())

        lo, hi = -3.0, 3.0
        if total(lo) <= jobs <= total(hi):
            for _ in range(40):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if total(mid) < jobs else (lo, mid)
            er.cols["cap"] = np.minimum(base * np.exp((lo + hi) / 2 * rel), top).astype(np.float32)
            return
    er.cols["cap"] = (base * (jobs / max(base.sum(), 1e-9))).astype(np.float32)


def record_staff(
    er: Employers, year: int, staff_now: np.ndarray, with_rows: np.ndarray, output: bool
) -> None:
    """Book this year's staff: first/last year with employments and the size history."""
    er.cols["staff_now"] = staff_now.astype(np.int32)
    er.first_year[(er.first_year < 0) & with_rows] = year
    er.last_year[with_rows] = year
    if output:
        er.out_rows[with_rows] = True
        er.staff_sum[:] += staff_now
        er.staff_years[:] += (staff_now > 0).astype(np.int32)
