"""`kluis deliberation check` and `show`."""

from __future__ import annotations

from deliberation_cases import PERSON_YAML, SHIPPED, edit, line_of
from typer.testing import CliRunner

from kluis.cli import app

runner = CliRunner()


def test_check_ok_on_the_shipped_files():
    result = runner.invoke(
        app, ["deliberation", "check", str(SHIPPED / "26-104.yaml"), str(SHIPPED / "24-074.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "deliberation 26/104, 81 variables" in result.output
    assert "deliberation 24/074" in result.output


def test_check_prints_every_error_with_file_and_line(write):
    text = edit(PERSON_YAML, "coarsening: age_5y", "coarsening: age_3y")
    text = edit(text, "previous: [province]", "previous: [province, sex]")
    path = write(text)
    result = runner.invoke(app, ["deliberation", "check", str(path)])
    assert result.exit_code == 2  # bad input
    assert result.stdout == ""  # problems are errors: on stderr
    out = result.stderr
    assert (
        f"{path}:{line_of(text, 'coarsening: age_3y')}: variables[1].coarsening: unknown "
        "coarsening scheme 'age_3y'" in out
    )
    # sex is authorised but used nowhere at T-1: no error; the unknown scheme is the only one
    assert "2 problem(s)" not in out and "1 problem(s)" in out
    assert "Traceback" not in out


def test_show_summarises_for_the_steward():
    result = runner.invoke(
        app,
        ["deliberation", "show", str(SHIPPED / "26-104.yaml"), "--today", "2026-07-01"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in [
        "Deliberation 26/104",
        "Steunpunt Werk",
        "2032-12-31",
        "in force",
        "Persons aged 15-64",
        "excluding the waiting register",
        "2020-2026",
        "age_5y: 15-19, 20-24",
        "country_group",
        "st_pwa",
        "tewerkgesteld in een PWA",
        "ss_spells.start_date where kind=INC",
        "year_month",
        "T+1",
        "T-1",
        "deceased",
        "sample of 10,000 persons per year",
        "minimum cell size 10",
    ]:
        assert expected in out, expected


def test_show_states_dates():
    before = runner.invoke(
        app,
        ["deliberation", "show", str(SHIPPED / "26-104.yaml"), "--today", "2026-06-01"],
        env={"COLUMNS": "200"},
    )
    assert "not yet in effect" in before.output
    after = runner.invoke(
        app,
        ["deliberation", "show", str(SHIPPED / "24-074.yaml"), "--today", "2028-01-01"],
        env={"COLUMNS": "200"},
    )
    assert "retention passed" in after.output
    assert "3,000 records, scrambled" in after.output
    assert "education_level x education_field" in after.output


def test_show_refuses_an_invalid_file(write):
    path = write(edit(PERSON_YAML, "coarsening: age_5y", "coarsening: age_3y"))
    result = runner.invoke(app, ["deliberation", "show", str(path)])
    assert result.exit_code == 2
