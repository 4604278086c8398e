"""Small valid deliberation files that each test breaks in one place (shared by the tests here).

Expected line numbers are found by searching the test's own YAML text (`line_of`), never taken
from the code under test.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "deliberations"

PERSON_YAML = """\
number: 99/001
date: 2026-01-10
title: Test deliberation (persons)
recipient: Test recipient
purpose: Testing
legal_basis: Test law
effective: 2026-02-01
ends: ["98/001"]
retention: 2030-12-31
population:
  unit: person
  years: {first: 2020, last: 2024}
  age: [15, 64]
variables:
  - name: person_id
    source: pseudonym.person
  - name: age
    source: derived.age
    coarsening: age_5y
  - name: sex
    source: persons.sex
  - name: province
    source: person_year.province
  - name: daily_wage_class
    source: person_year.gross_daily_wage
    coarsening: daily_wage_classes
  - name: incapacity_start
    source: ss_spells.start_date
    where: {kind: INC}
    coarsening: year_month
  - name: deceased
    source: derived.deceased
offsets:
  next: [province, daily_wage_class, deceased]
  previous: [province]
tables:
  - name: t_next
    unit: person-year
    variables: [person_id, age, sex, province, daily_wage_class, incapacity_start]
    next_year: [province, daily_wage_class, deceased]
  - name: t_previous
    unit: person-year
    variables: [person_id, age, sex, province]
    previous_year: [province]
phases:
  development:
    spec: {method: sample, persons_per_year: 100}
  full: {}
"""

EMPLOYER_YAML = """\
number: 99/002
date: 2024-01-10
title: Test deliberation (employers)
recipient: Test recipient
purpose: Testing
legal_basis: Test law
effective: 2024-02-01
retention: 2027-12-31
population:
  unit: employer
  years: {first: 2010, last: 2012}
  enterprises: {provider: NBB}
variables:
  - name: employer_id
    source: pseudonym.employer
  - name: group
    source: input.group
  - name: education_level
    source: person_year.education_level
  - name: annual_wage
    source: employments.gross_taxable_annual_wage
  - name: age
    source: derived.age
tables:
  - name: cells
    unit: employer-year-cell
    employer: employer_id
    by: [education_level]
    cell_measures:
      - {name: n_employees, aggregate: count}
      - {name: mean_wage, aggregate: mean, variable: annual_wage, coarsening: annual_wage_classes}
    employer_measures:
      - {name: mean_age, aggregate: mean, variable: age, coarsening: mean_age_classes}
    employer_variables: [group]
phases:
  development:
    spec:
      method: scramble
      records: 300
      swap_rate: 1.0
      swap_variables: [education_level, annual_wage, age]
      strata: [group]
  full: {}
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the test YAML"
    return hits[occurrence - 1]


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence (so the test really changes what it means to)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)
