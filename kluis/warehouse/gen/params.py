"""Behavioural parameters of the synthetic population, as data.

The calibration targets (kluis.warehouse.calibration) say what the result must look like; these
are the knobs of the mechanisms that get there (cohort sizes, migration mixes, profiles by age).
Code lists are read once and turned into index arrays so the simulation works on small integers.
"""

from __future__ import annotations

import numpy as np

from kluis import codes
from kluis.warehouse.calibration import PROVINCE_SHARES

FIRST_AGE, LAST_AGE = 13, 66  # the warehouse's population scope (age on 31 December)
N_AGES = LAST_AGE - FIRST_AGE + 1

# ----------------------------------------------------------------------- code list indices
COUNTRIES: tuple[str, ...] = codes.load("country").codes
C = {c: i for i, c in enumerate(COUNTRIES)}
BE = C["BE"]
COUNTRY_EU = np.array([codes.load("country").mapping("eu")[c] == "EU" for c in COUNTRIES])

PROVINCES: tuple[str, ...] = codes.load("province").codes
REGIONS = ("Flanders", "Wallonia", "Brussels")
PROV_REGION = np.array(
    [REGIONS.index(codes.load("province").mapping("region")[p]) for p in PROVINCES], dtype=np.int8
)
PROV_SHARE = np.array([PROVINCE_SHARES[p] for p in PROVINCES])
LIEGE = PROVINCES.index("60000")
BRUSSELS_REGION = 2
SERVICES = ("VDAB", "FOREM", "ACTIRIS", "ADG")  # indexed by region, ADG last

EDU_LEVELS: tuple[str, ...] = codes.load("isced_level").codes
_broad = codes.load("isced_level").mapping("broad")
EDU_BROAD = np.array(
    [("low", "medium", "high", "unknown").index(_broad[c]) for c in EDU_LEVELS], dtype=np.int8
)
L = {c: i for i, c in enumerate(EDU_LEVELS)}
FIELDS: tuple[str, ...] = codes.load("isced_field").codes
F = {c: i for i, c in enumerate(FIELDS)}
FIELD_BROAD = np.array([int(codes.load("isced_field").mapping("broad_field")[c]) for c in FIELDS])
NACE: tuple[str, ...] = codes.load("nace").codes
NACE_SECTION = np.array([ord(codes.load("nace").mapping("section")[c]) - ord("A") for c in NACE])

# ------------------------------------------------------------------------- demography
# Residents in Belgium by birth year (thousands, about 2024): the shape of the age pyramid.
_COHORT_POINTS = [
    (1930, 105),
    (1945, 125),
    (1955, 150),
    (1962, 166),
    (1970, 158),
    (1978, 150),
    (1985, 152),
    (1992, 140),
    (1998, 128),
    (2004, 131),
    (2010, 137),
    (2030, 125),
]


def cohort_size(birth_year: np.ndarray | int) -> np.ndarray:
    """Relative size of a birth cohort (thousands of residents around 2024)."""
    xs, ys = zip(*_COHORT_POINTS, strict=True)
    return np.interp(birth_year, xs, ys)


def death_prob(age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Annual probability of dying (Gompertz-Makeham fitted to Belgian life tables)."""
    men = 0.0003 + 0.0013 * np.exp(0.092 * (age - 40.0))
    women = 0.00015 + 0.0008 * np.exp(0.090 * (age - 40.0))
    return np.where(female, women, men)


def immigrant_age_weights() -> np.ndarray:
    """Age (13..66) distribution of immigrants: young adults dominate."""
    a = np.arange(FIRST_AGE, LAST_AGE + 1, dtype=float)
    return np.exp(-0.5 * ((a - 30) / 8) ** 2) + 0.3 * np.exp(-0.5 * ((a - 47) / 10) ** 2)


# Nationality of foreign immigrants (about 2015-2024) and of the older foreign stock / origins.
_IMMIGRANT_MIX = {
    "RO": 11,
    "FR": 9,
    "NL": 6,
    "IT": 4,
    "ES": 4,
    "PL": 4,
    "BG": 3,
    "PT": 2,
    "DE": 2,
    "GR": 1.2,
    "MA": 5,
    "SY": 4,
    "AF": 3,
    "UA": 4,
    "IN": 4,
    "TR": 2,
    "BR": 3,
    "CD": 2,
    "CM": 2,
    "GN": 1.5,
    "ER": 1.5,
    "IQ": 2,
    "PS": 1.5,
    "US": 1.5,
    "CN": 1.5,
    "PK": 1,
    "PH": 1,
    "GB": 1,
    "DZ": 1,
    "TN": 0.8,
    "SN": 0.7,
    "RU": 0.7,
    "AL": 0.5,
    "XK": 0.5,
    "SO": 0.7,
    "IR": 0.6,
    "CO": 0.5,
    "VN": 0.4,
    "JP": 0.4,
    "CA": 0.4,
    "HU": 0.5,
    "SK": 0.5,
    "CZ": 0.3,
    "LT": 0.3,
    "HR": 0.3,
}
_STOCK_MIX = {
    "IT": 11,
    "FR": 12,
    "NL": 12,
    "MA": 8,
    "RO": 7,
    "ES": 5,
    "PL": 5,
    "PT": 4,
    "TR": 4,
    "BG": 3,
    "DE": 3,
    "GR": 2,
    "CD": 2,
    "UA": 1.5,
    "SY": 1.5,
    "IN": 1,
    "AF": 1,
    "CM": 1,
    "GB": 1.5,
    "DZ": 1,
    "TN": 0.7,
    "RW": 0.5,
    "BR": 1,
    "CN": 0.7,
    "US": 0.8,
    "RU": 0.7,
    "GN": 0.5,
}
_ORIGIN_MIX = {
    "MA": 22,
    "IT": 14,
    "TR": 9,
    "FR": 8,
    "NL": 8,
    "CD": 5,
    "DZ": 3,
    "ES": 3,
    "PL": 3,
    "DE": 3,
    "RO": 2,
    "PT": 2,
    "TN": 2,
    "RW": 1,
    "GR": 1.5,
    "RS": 1,
    "XK": 1,
    "AL": 1,
    "RU": 1,
    "CM": 1,
}
ASYLUM_COUNTRIES = ("SY", "AF", "ER", "IQ", "PS", "SO", "GN", "IR", "CD", "BI", "TR")


def _mix(weights: dict[str, float], floor: float) -> np.ndarray:
    """Probability over COUNTRIES (never BE); unnamed countries get `floor`."""
    p = np.array([weights.get(c, floor) for c in COUNTRIES], dtype=float)
    p[BE] = 0.0
    return p / p.sum()


IMMIGRANT_MIX = _mix(_IMMIGRANT_MIX, 0.15)
STOCK_MIX = _mix(_STOCK_MIX, 0.1)
ORIGIN_MIX = _mix(_ORIGIN_MIX, 0.1)
ASYLUM = np.isin(np.array(COUNTRIES), ASYLUM_COUNTRIES)

# Province of arrival of immigrants (Brussels and Antwerp attract most).
IMMIGRANT_PROVINCE = {
    "10000": 0.17,
    "20001": 0.08,
    "20002": 0.03,
    "21000": 0.33,
    "30000": 0.05,
    "40000": 0.09,
    "50000": 0.08,
    "60000": 0.08,
    "70000": 0.04,
    "80000": 0.02,
    "90000": 0.03,
}
IMMIGRANT_PROV_P = np.array([IMMIGRANT_PROVINCE[p] for p in PROVINCES])

# Share non-Belgian among residents 15-64, by region, along the years (target path).
FOREIGN_SHARE_POINTS = {  # region -> [(year, share)]
    0: [(2003, 0.060), (2024, 0.096), (2030, 0.100)],
    1: [(2003, 0.100), (2024, 0.121), (2030, 0.125)],
    2: [(2003, 0.290), (2024, 0.375), (2030, 0.380)],
}
# Share of Belgians with a foreign origin, by region (Statbel 'origin' statistics).
ORIGIN_SHARE_BE = np.array([0.17, 0.24, 0.58])

# ------------------------------------------------------------------------- education
# Final education by birth cohort (Belgian-born): shares of low / medium / high.
_EDU_POINTS = [
    (1935, (0.50, 0.33, 0.17)),
    (1950, (0.42, 0.37, 0.21)),
    (1970, (0.26, 0.41, 0.33)),
    (1990, (0.15, 0.40, 0.45)),
    (2015, (0.12, 0.39, 0.49)),
]


def edu_broad_probs(birth_year: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities of low / medium / high final education by birth year."""
    xs = [p[0] for p in _EDU_POINTS]
    cols = [np.interp(birth_year, xs, [p[1][k] for p in _EDU_POINTS]) for k in range(3)]
    return np.stack(cols, axis=1)


# Level within broad group (indices into EDU_LEVELS).
LOW_LEVELS = np.array([L["000"], L["100"], L["210"], L["220"]])
LOW_P = np.array([0.05, 0.25, 0.30, 0.40])
MED_LEVELS = np.array([L["310"], L["320"], L["330"], L["340"], L["400"]])
MED_P = np.array([0.30, 0.33, 0.29, 0.03, 0.05])
HIGH_LEVELS = np.array([L["500"], L["610"], L["620"], L["710"], L["720"], L["800"]])
HIGH_P = np.array([0.04, 0.43, 0.02, 0.41, 0.06, 0.04])

# Education path: (age reached, level) steps towards each final level.
_PATHS = {
    "000": [(0, "000")],
    "100": [(12, "100")],
    "210": [(12, "100"), (15, "210")],
    "220": [(12, "100"), (16, "220")],
    "310": [(12, "100"), (14, "210"), (18, "310")],
    "320": [(12, "100"), (14, "210"), (18, "320")],
    "330": [(12, "100"), (14, "220"), (19, "330")],
    "340": [(12, "100"), (14, "210"), (18, "340")],
    "400": [(12, "100"), (14, "220"), (18, "330"), (20, "400")],
    "500": [(12, "100"), (14, "210"), (18, "320"), (21, "500")],
    "610": [(12, "100"), (14, "210"), (18, "320"), (21, "610")],
    "620": [(12, "100"), (14, "210"), (18, "310"), (21, "620")],
    "710": [(12, "100"), (14, "210"), (18, "310"), (21, "620"), (23, "710")],
    "720": [(12, "100"), (14, "210"), (18, "310"), (21, "620"), (23, "710"), (24, "720")],
    "800": [(12, "100"), (14, "210"), (18, "310"), (21, "620"), (23, "710"), (28, "800")],
    "999": [(0, "999")],
}
PATH_STEPS = max(len(v) for v in _PATHS.values())
PATH_AGE = np.full((len(EDU_LEVELS), PATH_STEPS), 200, dtype=np.int16)
PATH_LEVEL = np.zeros((len(EDU_LEVELS), PATH_STEPS), dtype=np.int8)
for _code, _steps in _PATHS.items():
    for _k, (_age, _lvl) in enumerate(_steps):
        PATH_AGE[L[_code], _k] = _age
        PATH_LEVEL[L[_code], _k] = L[_lvl]

# Field of the final diploma: (fields, weights for men, weights for women) by kind of level.
_VOC = {
    "071": (30, 3),
    "073": (14, 2),
    "072": (8, 4),
    "041": (12, 26),
    "061": (6, 2),
    "104": (5, 1),
    "081": (4, 2),
    "101": (6, 18),
    "091": (3, 15),
    "092": (2, 12),
    "021": (3, 5),
    "023": (1, 2),
    "102": (1, 2),
    "103": (2, 1),
    "999": (3, 3),
}
_TER = {
    "041": (22, 18),
    "071": (17, 4),
    "061": (10, 2),
    "042": (5, 6),
    "011": (4, 12),
    "091": (6, 18),
    "031": (6, 10),
    "053": (3, 1.5),
    "054": (2, 1),
    "073": (4, 2),
    "051": (2, 3),
    "022": (2, 3),
    "023": (2, 4),
    "032": (2, 3),
    "021": (3, 4),
    "081": (2, 1),
    "084": (0.5, 1),
    "092": (2, 7),
    "052": (1, 1),
    "103": (1, 0.3),
    "999": (2, 2),
}


def _field_p(table: dict[str, tuple[float, float]], sex: int) -> np.ndarray:
    p = np.zeros(len(FIELDS))
    for code, w in table.items():
        p[F[code]] = w[sex]
    return p / p.sum()


FIELD_P_VOC = np.stack([_field_p(_VOC, 0), _field_p(_VOC, 1)])
FIELD_P_TER = np.stack([_field_p(_TER, 0), _field_p(_TER, 1)])
GENERAL_LEVELS = np.array([L[c] for c in ("000", "100", "210", "310")])
GENERAL_FIELD = F["001"]
UNKNOWN_FIELD = F["999"]

# Log-wage effect of the (current) education level.
EDU_WAGE = np.array(
    [-0.30, -0.28, -0.22, -0.20, -0.02, -0.02, -0.10, -0.05, 0.02, 0.08, 0.15, 0.18, 0.36, 0.43,
     0.48, -0.10]
)  # fmt: skip

# employers and wages live in params_work; re-exported so callers use one namespace
from kluis.warehouse.gen.params_work import (  # noqa: E402, F401
    AFFINITY,
    DAYS_PER_MONTH,
    MEAN_OVER_MEDIAN,
    MINIMUM_WAGE_RATIO,
    MONTHS_TAXABLE,
    PUBLIC_SHARE,
    SECTION,
    SECTION_COUNT_W,
    SECTION_LETTERS,
    SECTION_SIZE_MULT,
    SECTION_WAGE,
    SELF_SECTION_W,
    SIZE_CLASS_EDGES,
    SIZE_CLASSES,
    wage_median,
)
