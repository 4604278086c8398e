"""The deliberation as data: what the Information Security Committee authorised, and nothing more.

This module is the contract between the deliberation file and the extractors. Validation against
the warehouse schema and the coarsening catalogue lives in `validate.py`; this module only says
what a well-formed file looks like.

Variable sources (`Variable.source`):
- `<table>.<column>` — a warehouse column (see kluis.schema); tables with more than one row per
  person-year (ss_spells, welfare_support) need `where` fixing the extra key columns,
  e.g. `where: {kind: INC}`;
- `derived.<name>` — a derived value from the catalogue in `sources.py` (age on 31 December,
  deceased in the year, ...);
- `pseudonym.person` / `pseudonym.employer` — the meaningless sequence number;
- `input.<column>` — a column of the input list the deliberation takes (e.g. the NBB group).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class YearRange(_Strict):
    first: int
    last: int

    @model_validator(mode="after")
    def _ordered(self) -> YearRange:
        if self.last < self.first:
            raise ValueError(f"last year {self.last} is before first year {self.first}")
        return self

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first, self.last + 1))


class PersonPopulation(_Strict):
    """Persons on the reference date of each year (31 December)."""

    unit: Literal["person"]
    years: YearRange
    age: tuple[int, int] = Field(description="age on 31 December, inclusive bounds")
    resident: bool = Field(True, description="living in Belgium on 31 December")
    exclude_waiting_register: bool = True
    description: str = ""


class EnterpriseInput(_Strict):
    """The enterprise list an employer study takes as input (e.g. from the National Bank)."""

    provider: str
    format: Literal["nbb_enterprise_csv"] = "nbb_enterprise_csv"
    groups: tuple[str, ...] = ("intervention", "control")


class EmployerPopulation(_Strict):
    """Employers from an input list, with their employees in each year."""

    unit: Literal["employer"]
    years: YearRange
    enterprises: EnterpriseInput
    employees: Literal["on_31_dec", "during_year"] = Field(
        "on_31_dec", description="which employments count for an employer-year"
    )
    description: str = ""


Population = Annotated[PersonPopulation | EmployerPopulation, Field(discriminator="unit")]


class Variable(_Strict):
    """One authorised variable: where it comes from and how coarse it must be."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str
    where: dict[str, str | int | bool] = Field(default_factory=dict)
    coarsening: str = Field("none", description="name of a scheme in the coarsening catalogue")
    section: Literal["person", "sep", "work", "social_security", "employer", "cell"] = "person"
    label: str = ""
    seed_text: str = Field("", description="the words of the legal text this variable encodes")


class Offsets(_Strict):
    """Variables the deliberation authorises for the next (T+1) and previous (T−1) year."""

    next: tuple[str, ...] = ()
    previous: tuple[str, ...] = ()


class PersonYearTable(_Strict):
    """A person-year table: the variables at year T, plus authorised ones at T+1 or T−1."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: Literal["person-year"]
    description: str = ""
    variables: tuple[str, ...]
    next_year: tuple[str, ...] = ()
    previous_year: tuple[str, ...] = ()


class Measure(_Strict):
    """An aggregate of an authorised variable, coarsened after aggregation."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    aggregate: Literal["count", "mean"]
    variable: str | None = None
    coarsening: str = "none"
    label: str = ""


class EmployerCellTable(_Strict):
    """An employer-year-cell table: per employer and year, per combination of `by`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: Literal["employer-year-cell"]
    description: str = ""
    employer: str = Field(description="variable holding the employer sequence number")
    by: tuple[str, ...]
    cell_measures: tuple[Measure, ...]
    employer_measures: tuple[Measure, ...] = ()
    employer_variables: tuple[str, ...] = Field((), description="e.g. the NBB group")


OutputTable = Annotated[PersonYearTable | EmployerCellTable, Field(discriminator="unit")]


class SamplePhase(_Strict):
    method: Literal["sample"]
    persons_per_year: int = Field(gt=0)


class ScramblePhase(_Strict):
    method: Literal["scramble"]
    records: int = Field(gt=0, description="employee records in the fragment")
    swap_rate: float = Field(gt=0, le=1)
    swap_variables: tuple[str, ...]
    strata: tuple[str, ...] = ()


class DevelopmentPhase(_Strict):
    description: str = ""
    spec: Annotated[SamplePhase | ScramblePhase, Field(discriminator="method")]


class FullPhase(_Strict):
    description: str = ""
    location: Literal["secure_environment"] = "secure_environment"


class Phases(_Strict):
    development: DevelopmentPhase
    full: FullPhase


class Dominance(_Strict):
    p: float = Field(10.0, description="p% rule: p")
    n: int = Field(2, description="(n,k) rule: n")
    k: float = Field(85.0, description="(n,k) rule: k percent")


class OutputRules(_Strict):
    """Small cell risk analysis parameters; defaults follow research-output practice."""

    min_cell: int = Field(10, ge=1)
    dominance: Dominance = Dominance()
    protection: float = Field(0.15, gt=0, lt=1, description="relative protection interval")
    checkers: int = Field(
        1, ge=1, le=2, description="distinct output checkers who must approve each output"
    )


class RiskSettings(_Strict):
    """How the steward measures the re-identification risk of the development data
    (`kluis risk`): the key variables (quasi-identifiers) an attacker could know, the k of
    k-anonymity, and the columns with a role. Names are the deliberation's own variables."""

    keys: tuple[str, ...] = Field(min_length=1)
    k: int = Field(3, ge=2)
    person: str | None = Field(None, description="sequence number linking a panel's years")
    household: str | None = None
    weight: str | None = None
    sensitive: str | None = Field(None, description="variable for l-diversity")
    importance: dict[str, float] = Field(
        default_factory=dict, description="cost of suppressing one value of a key (default 1)"
    )


class Deliberation(_Strict):
    number: str = Field(pattern=r"^\d{2}/\d{3}$")
    date: dt.date
    title: str
    recipient: str
    purpose: str
    legal_basis: str
    effective: dt.date
    ends: tuple[str, ...] = ()
    extends: tuple[str, ...] = ()  # deliberations whose retention this one extends to its own
    retention: dt.date
    population: Population
    variables: tuple[Variable, ...]
    offsets: Offsets = Offsets()
    tables: tuple[OutputTable, ...]
    phases: Phases
    output_rules: OutputRules = OutputRules()
    risk: RiskSettings | None = None

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"deliberation {self.number} authorises no variable {name!r}")

    @property
    def slug(self) -> str:
        """File-system friendly number, e.g. 26-104."""
        return self.number.replace("/", "-")
