"""What a generated warehouse should look like: the calibration targets of BRIEF section 5 as data.

The generator steers towards these values and `kluis warehouse profile` prints generated vs
target, so both read the same list. Every target is measured on the deliberation 26/104
population of one reference year: residents aged 15-64 on 31 December who are not in the waiting
register (persons.waiting_register false), unless its description says otherwise.

Counts are given at national scale (7,500,000 residents aged 15-64); `Target.expected(persons)`
scales them to a smaller warehouse. Tolerances are absolute, in the target's unit, at national
scale (scaled along for counts).
"""

from __future__ import annotations

from dataclasses import dataclass

NATIONAL_PERSONS = 7_500_000  # residents aged 15-64 in Belgium (about 2024)
REFERENCE_YEARS = (2023, 2025)  # the brief's figures describe about 2023-2025


@dataclass(frozen=True)
class Target:
    """One calibration target: a share, a count (national scale) or an amount."""

    name: str
    description: str
    value: float
    tolerance: float
    unit: str  # "share", "count", "EUR", "ratio"
    source: str = "BRIEF 5"

    @property
    def scales_with_persons(self) -> bool:
        return self.unit == "count"

    def expected(self, persons: int = NATIONAL_PERSONS) -> float:
        """The target value for a warehouse of `persons` residents aged 15-64."""
        if self.scales_with_persons:
            return self.value * persons / NATIONAL_PERSONS
        return self.value

    def bounds(self, persons: int = NATIONAL_PERSONS) -> tuple[float, float]:
        """(low, high) accepted values for a warehouse of `persons`."""
        tol = self.tolerance * (persons / NATIONAL_PERSONS if self.scales_with_persons else 1.0)
        mid = self.expected(persons)
        return mid - tol, mid + tol

    def within(self, measured: float, persons: int = NATIONAL_PERSONS) -> bool:
        low, high = self.bounds(persons)
        return low <= measured <= high


_A = "kluis assumption (order of magnitude of Statbel / RSZ / RIZIV figures)"

# Province shares of residents 15-64 (Statbel, 1 January 2024, rounded).
PROVINCE_SHARES: dict[str, float] = {
    "10000": 0.166,  # Antwerp
    "20001": 0.099,  # Flemish Brabant
    "20002": 0.034,  # Walloon Brabant
    "21000": 0.110,  # Brussels-Capital Region
    "30000": 0.100,  # West Flanders
    "40000": 0.135,  # East Flanders
    "50000": 0.115,  # Hainaut
    "60000": 0.095,  # Liège
    "70000": 0.077,  # Limburg
    "80000": 0.025,  # Luxembourg
    "90000": 0.044,  # Namur (Flanders 0.577, Wallonia 0.313, Brussels 0.110)
}

# Employment rate and unemployment rate (ILO-like: job-seekers / (working + job-seekers)) by
# region and sex; the regional totals are the brief's, the split by sex is Statbel's pattern.
EMPLOYMENT_RATE = {
    ("Flanders", "1"): 0.75,
    ("Flanders", "2"): 0.69,
    ("Wallonia", "1"): 0.64,
    ("Wallonia", "2"): 0.58,
    ("Brussels", "1"): 0.645,
    ("Brussels", "2"): 0.535,
}
UNEMPLOYMENT_RATE = {
    ("Flanders", "1"): 0.041,
    ("Flanders", "2"): 0.039,
    ("Wallonia", "1"): 0.078,
    ("Wallonia", "2"): 0.072,
    ("Brussels", "1"): 0.125,
    ("Brussels", "2"): 0.114,
}

TARGETS: list[Target] = [
    Target(
        "residents_15_64",
        "Residents aged 15-64 (population of deliberation 26/104)",
        7_500_000,
        150_000,
        "count",
    ),
    Target("share_female", "Share of women", 0.497, 0.01, "share", _A),
    Target("age_15_24", "Share aged 15-24", 0.179, 0.015, "share", _A),
    Target("age_25_49", "Share aged 25-49", 0.504, 0.02, "share", _A),
    Target("age_50_64", "Share aged 50-64", 0.317, 0.02, "share", _A),
    Target("region_flanders", "Share living in Flanders", 0.577, 0.015, "share", _A),
    Target("region_wallonia", "Share living in Wallonia", 0.313, 0.015, "share", _A),
    Target(
        "region_brussels", "Share living in the Brussels-Capital Region", 0.110, 0.01, "share", _A
    ),
    *(
        Target(f"province_{code}", f"Share living in province {code}", share, 0.01, "share", _A)
        for code, share in PROVINCE_SHARES.items()
    ),
    Target(
        "employment_rate",
        "Employment rate: share with a working position (SEP group 1)",
        0.67,
        0.02,
        "share",
    ),
    Target("employment_rate_flanders", "Employment rate, Flanders", 0.72, 0.025, "share"),
    Target("employment_rate_wallonia", "Employment rate, Wallonia", 0.61, 0.025, "share"),
    Target("employment_rate_brussels", "Employment rate, Brussels", 0.59, 0.03, "share"),
    Target("employment_rate_men", "Employment rate, men", 0.70, 0.025, "share", _A),
    Target("employment_rate_women", "Employment rate, women", 0.64, 0.025, "share", _A),
    Target(
        "unemployment_rate",
        "Unemployment rate: job-seekers (SEP group 2) / (groups 1 + 2)",
        0.06,
        0.01,
        "share",
    ),
    Target("unemployment_rate_flanders", "Unemployment rate, Flanders", 0.04, 0.01, "share"),
    Target("unemployment_rate_wallonia", "Unemployment rate, Wallonia", 0.075, 0.015, "share"),
    Target("unemployment_rate_brussels", "Unemployment rate, Brussels", 0.12, 0.025, "share"),
    Target(
        "non_belgian",
        "Share with a non-Belgian nationality (persons.nationality != BE)",
        0.137,
        0.015,
        "share",
    ),
    Target(
        "non_belgian_brussels",
        "Share with a non-Belgian nationality, Brussels",
        0.37,
        0.04,
        "share",
    ),
    Target(
        "employers",
        "Employers (RSZ numbers) with at least one employment in the year",
        257_000,
        15_000,
        "count",
    ),
    Target(
        "employers_under_5",
        "Share of those employers with fewer than 5 jobs on 31 December "
        "(among employers with staff on 31 December)",
        0.69,
        0.06,
        "share",
        _A,
    ),
    Target(
        "employers_100_plus",
        "Share of those employers with 100 or more jobs on 31 December",
        0.016,
        0.008,
        "share",
        _A,
    ),
    Target(
        "wage_mean_ft",
        "Mean gross monthly wage of full-time employees (work performance "
        "type 1): gross_daily_wage x 21.67",
        3_900,
        200,
        "EUR",
    ),
    Target("wage_median_ft", "Median gross monthly wage of full-time employees", 3_500, 175, "EUR"),
    Target(
        "wage_ratio_high_low",
        "Median full-time wage, high over low education (isced_level broad)",
        1.6,
        0.2,
        "ratio",
        _A,
    ),
    Target(
        "wage_ratio_female_male", "Median full-time wage, women over men", 0.94, 0.04, "ratio", _A
    ),
    Target(
        "long_term_sick",
        "Persons in long-term sickness or invalidity (SEP 3.7)",
        526_000,
        55_000,
        "count",
    ),
    Target(
        "social_integration_income",
        "Persons with social integration income (welfare support level 1 type 1) in the year",
        150_000,
        20_000,
        "count",
    ),
    Target(
        "disability_allowance",
        "Persons with a disability allowance on 31 December",
        190_000,
        35_000,
        "count",
        _A,
    ),
]


def target(name: str) -> Target:
    """The target called `name`."""
    for t in TARGETS:
        if t.name == name:
            return t
    raise KeyError(f"no calibration target {name!r}")
