"""The catalogue of named coarsening schemes a deliberation may prescribe.

A deliberation says "age (in classes)"; this catalogue says which classes. It is data, not code:
the extractors implement each *kind* once, generically (kluis/extract/recode.py), and validation
checks that a scheme fits the column it is applied to. A steward reading `kluis deliberation show`
sees the labels listed here next to each variable.

Kinds:
- `identity` — the value as is (codes, booleans, small integers). Never for amounts or dates.
- `classes` — numeric classes, left-closed: class i is [breaks[i], breaks[i+1]); the last class
  is [breaks[-1], upper] when `upper` is set (closed), else open-ended. Values below breaks[0] or
  above `upper` become null: never a finer value than the classes.
- `map` — a code list's grouping column replaces the code (country -> country.group).
- `deciles` — decile number 1..10 of the value among the population of the same year (the full
  population of the deliberation in that year, not the extract's sample), nulls left null.
- `year_month` — a date becomes 'YYYY-MM'.
- `year` — a date becomes its year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kluis.schema.model import ColumnType

SchemeKind = Literal["identity", "classes", "map", "deciles", "year_month", "year"]

INTEGER_TYPES: tuple[ColumnType, ...] = ("int8", "int16", "int32", "int64")
NUMERIC_TYPES: tuple[ColumnType, ...] = (*INTEGER_TYPES, "float64")


@dataclass(frozen=True)
class Scheme:
    """One named coarsening: what it does, to which column types, and its output labels."""

    name: str
    description: str
    kind: SchemeKind
    accepts: tuple[ColumnType, ...]
    breaks: tuple[float, ...] = ()
    upper: float | None = None
    labels: tuple[str, ...] = ()
    codes: str | None = None
    group_column: str | None = None
    quantiles: int = 0

    def __post_init__(self) -> None:
        if self.kind == "classes":
            if not self.breaks or len(self.breaks) != len(self.labels):
                raise ValueError(f"scheme {self.name}: one label per class break needed")
            if list(self.breaks) != sorted(set(self.breaks)):
                raise ValueError(f"scheme {self.name}: breaks must increase strictly")
            if self.upper is not None and self.upper < self.breaks[-1]:
                raise ValueError(f"scheme {self.name}: upper bound below the last break")
        if self.kind == "map" and not (self.codes and self.group_column):
            raise ValueError(f"scheme {self.name}: a map needs a code list and a grouping column")
        if self.kind == "deciles" and self.quantiles < 2:
            raise ValueError(f"scheme {self.name}: deciles need quantiles >= 2")

    def accepts_type(self, column_type: str) -> bool:
        return column_type in self.accepts

    def output_type(self, input_type: ColumnType) -> ColumnType:
        """The column type of the coarsened value (for the data package schema)."""
        if self.kind == "identity":
            return input_type
        if self.kind == "deciles":
            return "int8"
        if self.kind == "year":
            return "int16"
        return "string"

    def value_labels(self) -> dict[str | int, str]:
        """Output value -> label, for the codebook. Empty when the values speak for themselves
        (identity: see the column's code list; year_month / year: calendar values)."""
        if self.kind == "classes":
            return {label: label for label in self.labels}
        if self.kind == "deciles":
            return {i + 1: label for i, label in enumerate(self.labels)}
        if self.kind == "map":
            from kluis.codes import load as load_codes  # lazy: code lists are data files

            groups = load_codes(self.codes).mapping(self.group_column)  # type: ignore[arg-type]
            return {g: g for g in dict.fromkeys(groups.values())}
        return {}

    def summary(self) -> str:
        """One line for `kluis deliberation show`."""
        if self.kind == "classes":
            return ", ".join(self.labels)
        if self.kind == "deciles":
            return f"{self.quantiles} quantile groups of the year's population"
        if self.kind == "map":
            return f"{self.codes} -> {self.codes}.{self.group_column}"
        if self.kind == "year_month":
            return "YYYY-MM"
        if self.kind == "year":
            return "YYYY"
        return "as is"


def _classes(
    name: str,
    description: str,
    breaks: tuple[float, ...],
    labels: tuple[str, ...],
    *,
    upper: float | None = None,
    accepts: tuple[ColumnType, ...] = NUMERIC_TYPES,
) -> Scheme:
    return Scheme(name, description, "classes", accepts, breaks, upper, labels)


def _map(name: str, description: str, codes: str, group_column: str) -> Scheme:
    return Scheme(name, description, "map", ("string",), codes=codes, group_column=group_column)


_DECILE_LABELS = tuple(f"D{i}" for i in range(1, 11))

_SCHEMES: tuple[Scheme, ...] = (
    Scheme(
        "none",
        "The value as is: codes, booleans, small counts. Not for amounts, fractions or dates.",
        "identity",
        ("string", "bool", *INTEGER_TYPES),
    ),
    _classes(
        "age_5y",
        "Age on 31 December in five-year classes, 15-64 (deliberation populations 15-64).",
        (15, 20, 25, 30, 35, 40, 45, 50, 55, 60),
        ("15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59", "60-64"),
        upper=64,
        accepts=INTEGER_TYPES,
    ),
    _classes(
        "age_10y",
        "Age on 31 December in ten-year classes, 15-64.",
        (15, 25, 35, 45, 55),
        ("15-24", "25-34", "35-44", "45-54", "55-64"),
        upper=64,
        accepts=INTEGER_TYPES,
    ),
    _map(
        "country_group",
        "Country (nationality, country of birth, of origin, of descent) in coarse groups: "
        "Belgium, neighbouring countries, other EU-14, EU-13, other Europe, Turkey, Maghreb, "
        "other Africa, Asia, Americas, Oceania.",
        "country",
        "group",
    ),
    # eu_group, not eu: the eu column says EU membership (Belgium included), for the generator
    _map("country_eu", "Country as Belgium / other EU / non-EU.", "country", "eu_group"),
    _map(
        "province_region", "Province as region: Flanders, Wallonia, Brussels.", "province", "region"
    ),
    _map("nace_section", "NACE division (2 digits) as NACE section A..U.", "nace", "section"),
    _map("isced_broad", "ISCED level as low / medium / high.", "isced_level", "broad"),
    _map(
        "isced_level_1d",
        "Detailed education level as ISCED 2011 level 0-8.",
        "isced_level",
        "isced",
    ),
    _map(
        "isced_field_broad",
        "ISCED-F narrow field as ISCED-F broad field 00..10.",
        "isced_field",
        "broad_field",
    ),
    _map("sep_group", "Socio-economic position code as its group 1..4.", "sep", "group"),
    _classes(
        "children_classes",
        "Number of children in the household: 0, 1, 2, 3 or more.",
        (0, 1, 2, 3),
        ("0", "1", "2", "3+"),
        accepts=INTEGER_TYPES,
    ),
    _classes(
        "months_classes",
        "Months of registration or unemployment (current spell).",
        (0, 1, 4, 7, 13, 25, 61),
        ("0", "1-3", "4-6", "7-12", "13-24", "25-60", "61+"),
        accepts=INTEGER_TYPES,
    ),
    Scheme(
        "registration_year",
        "The calendar year of first registration in the National Register, as the seed gives it "
        "('het jaar van de inschrijving in het Rijksregister'): says how long a person has lived "
        "in Belgium.",
        "identity",
        ("int16", "int32"),
    ),
    _classes(
        "daily_wage_classes",
        "Average gross daily wage (EUR) in adapted classes; left-closed.",
        (0, 50, 75, 100, 125, 150, 175, 200, 250, 300),
        (
            "0-<50",
            "50-<75",
            "75-<100",
            "100-<125",
            "125-<150",
            "150-<175",
            "175-<200",
            "200-<250",
            "250-<300",
            "300+",
        ),
        accepts=("float64",),
    ),
    Scheme(
        "daily_wage_deciles",
        "Decile (1-10) of the average gross daily wage among the persons of the population with "
        "a wage in the same year.",
        "deciles",
        ("float64",),
        labels=_DECILE_LABELS,
        quantiles=10,
    ),
    _classes(
        "fte_classes",
        "Full-time equivalent over the year in quarters; 1+ is (more than) full time.",
        (0, 0.25, 0.5, 0.75, 1.0),
        ("0-<0.25", "0.25-<0.5", "0.5-<0.75", "0.75-<1", "1+"),
        accepts=("float64",),
    ),
    _classes(
        "work_intensity_classes",
        "Household work intensity in the Eurostat bands: very low [0,0.2), low [0.2,0.45), "
        "medium [0.45,0.55), high [0.55,0.85), very high [0.85,1].",
        (0, 0.2, 0.45, 0.55, 0.85),
        (
            "very low (0-<0.2)",
            "low (0.2-<0.45)",
            "medium (0.45-<0.55)",
            "high (0.55-<0.85)",
            "very high (0.85-1)",
        ),
        upper=1.0,
        accepts=("float64",),
    ),
    _classes(
        "annual_wage_classes",
        "Average gross taxable annual wage (EUR) in adapted classes; left-closed.",
        (0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000),
        (
            "0-<10k",
            "10k-<20k",
            "20k-<30k",
            "30k-<40k",
            "40k-<50k",
            "50k-<60k",
            "60k-<80k",
            "80k-<100k",
            "100k+",
        ),
        accepts=("float64",),
    ),
    _classes(
        "fte_mean_classes",
        "Average full-time equivalent of a group of employees; left-closed.",
        (0, 0.25, 0.5, 0.75, 0.9, 1.0),
        ("0-<0.25", "0.25-<0.5", "0.5-<0.75", "0.75-<0.9", "0.9-<1", "1+"),
        accepts=("float64",),
    ),
    _classes(
        "mean_age_classes",
        "Average age of an employer's employees in adapted classes; left-closed.",
        (0, 25, 30, 35, 40, 45, 50, 55),
        ("<25", "25-<30", "30-<35", "35-<40", "40-<45", "45-<50", "50-<55", "55+"),
        accepts=("float64",),
    ),
    Scheme(
        "year_month",
        "A date as year and month, 'YYYY-MM' (seed: 'jaar en maand van begindatum en einddatum').",
        "year_month",
        ("date",),
    ),
    Scheme("year", "A date as its calendar year.", "year", ("date",)),
)

CATALOGUE: dict[str, Scheme] = {s.name: s for s in _SCHEMES}


def scheme(name: str) -> Scheme:
    """The catalogued scheme `name`."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(
            f"unknown coarsening scheme {name!r}; known: {', '.join(sorted(CATALOGUE))}"
        ) from None
