"""Each semantic error names the YAML line and field and says what is wrong."""

from __future__ import annotations

import pytest
from deliberation_cases import EMPLOYER_YAML, PERSON_YAML, edit, line_of

from kluis.deliberation import DeliberationError, load, problems
from kluis.deliberation.errors import Problem


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_base_files_are_valid(write):
    assert problems(write(PERSON_YAML)) == []
    assert problems(write(EMPLOYER_YAML)) == []
    assert load(write(PERSON_YAML)).number == "99/001"


def test_unknown_variable_in_a_table(write):
    text = edit(
        PERSON_YAML,
        "variables: [person_id, age, sex, province]",
        "variables: [person_id, age, sex, province, nationality]",
    )
    p = only(problems(write(text)))
    assert p.line == line_of(text, "province, nationality]")
    assert p.field == "tables[1].variables[4]"
    assert "unknown variable 'nationality'" in p.message


def test_unknown_variable_in_offsets(write):
    text = edit(PERSON_YAML, "previous: [province]", "previous:\n    - province\n    - salary")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "- salary")
    assert p.field == "offsets.previous[1]"
    assert "unknown variable 'salary'" in p.message


def test_variable_at_next_year_not_authorised_by_offsets(write):
    text = edit(
        PERSON_YAML,
        "next_year: [province, daily_wage_class, deceased]",
        "next_year:\n      - province\n      - sex",
    )
    p = only(problems(write(text)))
    assert p.line == line_of(text, "      - sex")
    assert p.field == "tables[0].next_year[1]"
    assert "'sex' is used at T+1" in p.message and "offsets.next" in p.message


def test_variable_at_previous_year_not_authorised_by_offsets(write):
    text = edit(PERSON_YAML, "previous_year: [province]", "previous_year: [province, deceased]")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "previous_year: [province, deceased]")
    assert p.field == "tables[1].previous_year[1]"
    assert "T-1" in p.message and "offsets.previous" in p.message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("salaries.amount", "no warehouse table 'salaries'"),
        ("persons.shoe_size", "persons has no column 'shoe_size'"),
        ("derived.income", "unknown derived source 'derived.income'"),
        ("pseudonym.household", "unknown pseudonym"),
        ("sex", "is not of the form"),
    ],
)
def test_unknown_source(write, source, expected):
    text = edit(PERSON_YAML, "source: persons.sex", f"source: {source}")
    p = only(problems(write(text)))
    assert p.line == line_of(text, f"source: {source}")
    assert p.field == "variables[2].source"
    assert expected in p.message


def test_unknown_coarsening_scheme(write):
    text = edit(PERSON_YAML, "coarsening: age_5y", "coarsening: age_3y")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "coarsening: age_3y")
    assert p.field == "variables[1].coarsening"
    assert "unknown coarsening scheme 'age_3y'" in p.message and "age_5y" in p.message


@pytest.mark.parametrize(
    ("old", "new", "needle", "hint"),
    [
        # numeric classes on a coded (string) column
        (
            "source: persons.sex",
            "source: persons.sex\n    coarsening: age_10y",
            "coarsening: age_10y",
            "accepts int8",
        ),
        # an amount as is
        (
            "coarsening: daily_wage_classes",
            "coarsening: none",
            "coarsening: none",
            "amounts and fractions must be given in classes",
        ),
        # an exact date as is
        (
            "    coarsening: year_month",
            "    coarsening: none",
            "coarsening: none",
            "dates must be given as year_month or year",
        ),
    ],
)
def test_scheme_not_applicable_to_column_type(write, old, new, needle, hint):
    text = edit(PERSON_YAML, old, new)
    p = only(problems(write(text)))
    assert p.line == line_of(text, needle)
    assert p.field.endswith(".coarsening")
    assert "does not apply to" in p.message and hint in p.message


def test_missing_where_for_a_multi_row_table(write):
    text = edit(PERSON_YAML, "    where: {kind: INC}\n", "")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "source: ss_spells.start_date")
    assert p.field == "variables[5].source"
    assert "`where` must fix kind" in p.message


def test_where_with_an_unknown_code(write):
    text = edit(PERSON_YAML, "where: {kind: INC}", "where: {kind: incapacity}")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "where: {kind: incapacity}")
    assert p.field == "variables[5].where.kind"
    assert "'incapacity' is not a code of spell_kind" in p.message


def test_where_on_a_single_row_table(write):
    text = edit(
        PERSON_YAML,
        "source: person_year.province",
        "source: person_year.province\n    where:\n      year: 2020",
    )
    p = only(problems(write(text)))
    assert p.line == line_of(text, "      year: 2020")
    assert p.field == "variables[3].where.year"


def test_retention_before_effect(write):
    text = edit(PERSON_YAML, "retention: 2030-12-31", "retention: 2026-01-31")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "retention: 2026-01-31")
    assert p.field == "retention"
    assert "before the date the deliberation takes effect" in p.message


def test_effect_before_deliberation_date(write):
    text = edit(PERSON_YAML, "effective: 2026-02-01", "effective: 2025-12-01")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "effective: 2025-12-01")
    assert p.field == "effective"
    assert "before the deliberation date" in p.message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("{first: 2020, last: 2024}", "{first: 2001, last: 2024}", "first"),
        ("{first: 2020, last: 2024}", "{first: 2020, last: 2027}", "last"),
    ],
)
def test_population_years_outside_the_warehouse(write, old, new, key):
    text = edit(PERSON_YAML, old, new)
    p = only(problems(write(text)))
    assert p.line == line_of(text, new)
    assert p.field == f"population.years.{key}"
    assert "outside the warehouse years 2003-2026" in p.message


def test_duplicate_variable_name(write):
    text = edit(PERSON_YAML, "  - name: province\n", "  - name: sex\n")
    found = problems(write(text))
    dup = [p for p in found if "duplicate variable 'sex'" in p.message]
    assert len(dup) == 1
    assert dup[0].line == line_of(text, "- name: sex", occurrence=2)
    assert dup[0].field == "variables[3].name"


def test_duplicate_table_name(write):
    text = edit(PERSON_YAML, "name: t_previous", "name: t_next")
    p = only(problems(write(text)))
    assert p.line == line_of(text, "name: t_next", occurrence=2)
    assert p.field == "tables[1].name"
    assert "duplicate table 't_next'" in p.message


def test_duplicate_variable_in_a_table(write):
    text = edit(
        PERSON_YAML,
        "variables: [person_id, age, sex, province]",
        "variables: [person_id, age, sex, sex]",
    )
    p = only(problems(write(text)))
    assert p.field == "tables[1].variables[3]"
    assert p.line == line_of(text, "[person_id, age, sex, sex]")


def test_table_unit_inconsistent_with_population(write):
    text = edit(
        PERSON_YAML,
        "  - name: t_previous\n"
        "    unit: person-year\n"
        "    variables: [person_id, age, sex, province]\n"
        "    previous_year: [province]\n",
        "  - name: cells\n"
        "    unit: employer-year-cell\n"
        "    employer: person_id\n"
        "    by: [sex]\n"
        "    cell_measures: [{name: n, aggregate: count}]\n",
    )
    found = problems(write(text))
    unit = [p for p in found if p.field == "tables[1].unit"]
    assert len(unit) == 1
    assert unit[0].line == line_of(text, "unit: employer-year-cell")
    assert "needs an employer population" in unit[0].message
    # and the person pseudonym is not an employer sequence number
    assert any(p.field == "tables[1].employer" for p in found)


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("persons.insz", "direct identifier (insz)"),
        ("person_year.insz", "direct identifier (insz)"),
        ("person_year.household_id", "warehouse-internal identifier"),
    ],
)
def test_identifiers_are_never_authorised(write, source, what):
    text = edit(PERSON_YAML, "source: persons.sex", f"source: {source}")
    p = only(problems(write(text)))
    assert p.line == line_of(text, f"source: {source}")
    assert what in p.message and "can never be authorised" in p.message


@pytest.mark.parametrize(
    "source",
    ["employers.kbo_number", "employers.rsz_number", "employments.rsz_number", "employments.insz"],
)
def test_employer_identifiers_are_never_authorised(write, source):
    text = edit(EMPLOYER_YAML, "source: input.group", f"source: {source}")
    found = problems(write(text))
    ident = [p for p in found if p.field == "variables[1].source"]
    assert len(ident) == 1 and "can never be authorised" in ident[0].message
    assert ident[0].line == line_of(text, f"source: {source}")


@pytest.mark.parametrize("scheme", ["none", "year_month"])
def test_birth_date_only_coarsened_to_year(write, scheme):
    text = edit(
        PERSON_YAML, "source: persons.sex", f"source: persons.birth_date\n    coarsening: {scheme}"
    )
    p = only(problems(write(text)))
    assert p.line == line_of(text, f"coarsening: {scheme}")
    assert "identifies a person" in p.message and "year" in p.message


def test_birth_date_as_year_is_allowed(write):
    text = edit(
        PERSON_YAML, "source: persons.sex", "source: persons.birth_date\n    coarsening: year"
    )
    assert problems(write(text)) == []


def test_person_only_sources_refused_for_employer_population(write):
    text = edit(EMPLOYER_YAML, "source: derived.age", "source: derived.deceased")
    found = problems(write(text))
    assert any(
        p.field == "variables[4].source" and "cannot be used with an employer" in p.message
        for p in found
    )


def test_employer_sources_refused_for_person_population(write):
    text = edit(
        PERSON_YAML, "source: persons.sex", "source: employments.fte\n    coarsening: fte_classes"
    )
    p = only(problems(write(text)))
    assert (
        p.field == "variables[2].source" and "cannot be used with a person population" in p.message
    )


def test_mean_must_be_coarsened(write):
    text = edit(EMPLOYER_YAML, "variable: age, coarsening: mean_age_classes", "variable: age")
    p = only(problems(write(text)))
    assert p.field == "tables[0].employer_measures[0].coarsening"
    assert p.line == line_of(text, "{name: mean_age, aggregate: mean, variable: age}")
    assert "averages must be given in classes" in p.message


def test_measure_input_with_classes_is_ambiguous(write):
    text = edit(
        EMPLOYER_YAML,
        "    source: derived.age\n",
        "    source: derived.age\n    coarsening: age_5y\n",
    )
    p = only(problems(write(text)))
    assert p.field == "variables[4].coarsening"
    assert "only aggregated" in p.message


def test_unknown_variable_in_measure_and_scramble(write):
    text = edit(
        EMPLOYER_YAML,
        "swap_variables: [education_level, annual_wage, age]",
        "swap_variables: [education_level, annual_wage, fte]",
    )
    p = only(problems(write(text)))
    assert p.field == "phases.development.spec.swap_variables[2]"
    assert p.line == line_of(text, "swap_variables:")
    text = edit(EMPLOYER_YAML, "variable: annual_wage", "variable: bonus")
    found = problems(write(text))
    bonus = [p for p in found if p.field == "tables[0].cell_measures[1].variable"]
    assert len(bonus) == 1 and "unknown variable 'bonus'" in bonus[0].message
    assert bonus[0].line == line_of(text, "variable: bonus")
    # annual_wage is no longer only aggregated: as a raw amount it must now be coarsened
    assert any(p.field == "variables[3].coarsening" for p in found)


def test_employer_variable_must_describe_the_employer(write):
    text = edit(
        EMPLOYER_YAML, "employer_variables: [group]", "employer_variables: [education_level]"
    )
    p = only(problems(write(text)))
    assert p.field == "tables[0].employer_variables[0]"
    assert "not a characteristic of the employer" in p.message


def test_load_raises_with_every_problem(write):
    text = edit(PERSON_YAML, "coarsening: age_5y", "coarsening: age_3y")
    text = edit(text, "retention: 2030-12-31", "retention: 2026-01-31")
    with pytest.raises(DeliberationError) as exc:
        load(write(text))
    fields = {p.field for p in exc.value.problems}
    assert fields == {"variables[1].coarsening", "retention"}
    assert f"d.yaml:{line_of(text, 'coarsening: age_3y')}: variables[1].coarsening:" in str(
        exc.value
    )
