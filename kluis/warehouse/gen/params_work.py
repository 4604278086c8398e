"""Parameters of employers and wages, as data (split from params.py to keep modules small)."""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- employers
# Employers by NACE section: (relative count of employers, size multiplier, log-wage effect).
SECTION = {
    "A": (3.0, 0.6, -0.20),
    "B": (0.1, 3.0, 0.10),
    "C": (7.0, 3.2, 0.10),
    "D": (0.2, 6.0, 0.35),
    "E": (0.5, 2.0, 0.00),
    "F": (12.0, 0.8, -0.02),
    "G": (22.0, 0.9, -0.08),
    "H": (4.0, 2.2, 0.00),
    "I": (10.0, 0.6, -0.30),
    "J": (3.5, 1.6, 0.25),
    "K": (2.0, 3.0, 0.30),
    "L": (2.0, 0.5, 0.05),
    "M": (11.0, 0.7, 0.15),
    "N": (4.5, 2.8, -0.15),
    "O": (0.6, 30.0, 0.08),
    "P": (1.8, 9.0, 0.05),
    "Q": (7.0, 4.0, -0.03),
    "R": (2.0, 0.8, -0.12),
    "S": (6.0, 0.6, -0.15),
    "T": (4.0, 0.2, -0.35),
    "U": (0.15, 8.0, 0.30),
}
SECTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTU"
SECTION_COUNT_W = np.array([SECTION[s][0] for s in SECTION_LETTERS])
SECTION_SIZE_MULT = np.array([SECTION[s][1] for s in SECTION_LETTERS])
SECTION_WAGE = np.array([SECTION[s][2] for s in SECTION_LETTERS])
# Chance that an employer of a division is public (by division code).
PUBLIC_SHARE = {
    "84": 1.0,
    "85": 0.75,
    "86": 0.3,
    "87": 0.25,
    "88": 0.3,
    "36": 0.5,
    "37": 0.4,
    "38": 0.3,
    "49": 0.1,
    "53": 0.3,
    "91": 0.4,
    "72": 0.1,
}
# Size classes of employers with staff (RSZ): (low, high, share of employers).
SIZE_CLASSES = [
    (1, 4, 0.76),
    (5, 9, 0.11),
    (10, 19, 0.06),
    (20, 49, 0.04),
    (50, 99, 0.014),
    (100, 199, 0.008),
    (200, 499, 0.0045),
    (500, 999, 0.0012),
    (1000, 30000, 0.0009),
]
SIZE_CLASS_EDGES = np.array([1, 5, 10, 20, 50, 100, 200, 500, 1000])

# How strongly each ISCED-F broad field (00..10, 99 -> 11) leans towards each NACE section.
AFFINITY = np.ones((12, 21))
for _f, _prefs in {
    1: {"P": 8},
    2: {"R": 5, "J": 3, "P": 2},
    3: {"O": 3, "Q": 3, "M": 2, "P": 2},
    4: {"K": 4, "M": 3, "O": 2, "G": 1.5},
    5: {"M": 4, "C": 2, "P": 2, "Q": 1.5},
    6: {"J": 10, "K": 2, "M": 2},
    7: {"C": 4, "F": 5, "D": 4, "H": 1.5, "M": 2, "B": 3},
    8: {"A": 12, "C": 1.5},
    9: {"Q": 9, "P": 1.5, "O": 1.5},
    10: {"I": 4, "H": 4, "S": 4, "N": 2},
}.items():
    for _s, _w in _prefs.items():
        AFFINITY[_f, SECTION_LETTERS.index(_s)] = _w

# Self-employed by NACE section (their own activity).
SELF_SECTION_W = np.array(
    [SECTION_COUNT_W[i] * (3 if s in "AFGMQS" else 1) for i, s in enumerate(SECTION_LETTERS)]
)

# ---------------------------------------------------------------------------- wages
# Mean gross monthly full-time wage by year (EUR), median = mean / MEAN_OVER_MEDIAN.
_WAGE_POINTS = [
    (2003, 2700),
    (2008, 3100),
    (2012, 3350),
    (2016, 3450),
    (2020, 3600),
    (2021, 3640),
    (2022, 3790),
    (2023, 3900),
    (2024, 3930),
    (2025, 3960),
    (2026, 4010),
]
MEAN_OVER_MEDIAN = 3900 / 3500


def wage_median(year: int) -> float:
    xs, ys = zip(*_WAGE_POINTS, strict=True)
    return float(np.interp(year, xs, ys)) / MEAN_OVER_MEDIAN


MINIMUM_WAGE_RATIO = 0.55  # minimum full-time wage relative to the median
DAYS_PER_MONTH = 21.67  # 5-day week regime
MONTHS_TAXABLE = 13.92  # 12 months + double holiday pay + end-of-year premium
