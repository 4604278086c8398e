"""Reading a file: YAML and shape errors are located at their line and field."""

from __future__ import annotations

import pytest
from deliberation_cases import PERSON_YAML, edit, line_of
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.deliberation import DeliberationError, parse, problems
from kluis.yamlfile import locate


def test_yaml_syntax_error_names_the_line(write):
    text = edit(PERSON_YAML, "  age: [15, 64]", "  age: [15, 64")
    (p,) = problems(write(text))
    assert "not valid YAML" in p.message
    assert p.line is not None and p.line >= line_of(text, "age: [15, 64")


def test_duplicate_key_is_refused(write):
    text = edit(
        PERSON_YAML, "retention: 2030-12-31", "retention: 2030-12-31\nretention: 2031-12-31"
    )
    (p,) = problems(write(text))
    assert p.line == line_of(text, "retention: 2031-12-31")
    assert f"first on line {line_of(text, 'retention: 2030-12-31')}" in p.message


def test_unknown_field_names_line_and_path(write):
    text = edit(PERSON_YAML, "    coarsening: age_5y", "    coarsening: age_5y\n    classes: 5y")
    (p,) = problems(write(text))
    assert p.line == line_of(text, "classes: 5y")
    assert p.field == "variables[1].classes"
    assert "unknown field 'classes'" in p.message


def test_missing_field(write):
    text = edit(PERSON_YAML, "recipient: Test recipient\n", "")
    (p,) = problems(write(text))
    assert p.field == "recipient" and "required field is missing" in p.message


def test_union_tags_are_not_in_the_field_path(write):
    # pydantic reports tables.0.person-year.next_year; the steward sees tables[0].next_year
    text = edit(PERSON_YAML, "next_year: [province, daily_wage_class, deceased]", "next_year: 3")
    (p,) = problems(write(text))
    assert p.field == "tables[0].next_year"
    assert p.line == line_of(text, "next_year: 3")
    text = edit(PERSON_YAML, "persons_per_year: 100", "persons_per_year: 0")
    (p,) = problems(write(text))
    assert p.field == "phases.development.spec.persons_per_year"
    assert p.line == line_of(text, "persons_per_year: 0")


def test_bad_date_and_bad_number(write):
    text = edit(PERSON_YAML, "number: 99/001", "number: 99-001")
    text = edit(text, "date: 2026-01-10", "date: 2026-13-10")
    found = problems(write(text))
    assert {p.field for p in found} == {"number", "date"}
    assert {p.line for p in found} == {1, 2}


def test_missing_file_and_non_mapping(write, tmp_path):
    (p,) = problems(tmp_path / "absent.yaml")
    assert "cannot read" in p.message
    (p,) = problems(write("- just\n- a list\n"))
    assert "must be a YAML mapping" in p.message


def test_parse_raises_deliberation_error(write):
    with pytest.raises(DeliberationError) as exc:
        parse(write("number: 1\n"))
    assert len(exc.value.problems) > 3  # every missing field at once, not the first only


def test_locate_falls_back_to_the_nearest_ancestor():
    lines = {("tables",): 10, ("tables", 0): 11, ("tables", 0, "name"): 12}
    assert locate(lines, ("tables", 0, "name")) == 12
    assert locate(lines, ("tables", 0, "cell_measures", 2)) == 11
    assert locate(lines, ("phases",)) is None


@settings(max_examples=30, deadline=None)
@given(
    names=st.lists(
        st.sampled_from(["sex", "age", "province", "person_id", "nope", "x1"]),
        min_size=1,
        max_size=6,
    ),
    blank=st.integers(0, 3),
)
def test_every_list_item_is_located_on_its_own_line(tmp_path_factory, names, blank):
    """Whatever the list and the blank lines before it, an unknown variable is reported on the
    line where it is written."""
    items = "\n".join(f"      - {n}" for n in names)
    text = edit(
        PERSON_YAML,
        "    variables: [person_id, age, sex, province]\n",
        "\n" * blank + f"    variables:\n{items}\n",
    )
    path = tmp_path_factory.mktemp("h") / "d.yaml"
    path.write_text(text, encoding="utf-8")
    found = [p for p in problems(path) if p.field.startswith("tables[1].variables[")]
    lines = text.splitlines()
    for p in found:
        assert p.line is not None
        index = int(p.field.split("[")[-1].rstrip("]"))
        assert lines[p.line - 1].strip() == f"- {names[index]}"
    unknown = {i for i, n in enumerate(names) if n in ("nope", "x1")}
    assert {
        int(p.field.split("[")[-1].rstrip("]")) for p in found if "unknown variable" in p.message
    } == unknown


def test_unknown_table_unit_points_at_the_unit_line(write):
    text = edit(
        PERSON_YAML,
        "  - name: t_previous\n    unit: person-year",
        "  - name: t_previous\n    unit: person-yr",
    )
    (p,) = problems(write(text))
    assert p.field == "tables[1].unit"
    assert p.line == line_of(text, "unit: person-yr")
    assert "unknown unit 'person-yr'" in p.message and "'employer-year-cell'" in p.message
    text = edit(
        PERSON_YAML,
        "spec: {method: sample, persons_per_year: 100}",
        "spec: {persons_per_year: 100}",
    )
    (p,) = problems(write(text))
    assert p.field == "phases.development.spec.method"
    assert "required field is missing" in p.message
