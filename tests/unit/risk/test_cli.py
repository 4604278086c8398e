"""`kluis risk` through the real CLI: reports, suppression, the deliberation's settings,
recoding, a population, determinism, and one clear line for every kind of bad input."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from tests.unit.risk.helpers import TESTDATA_KEYS, reference_fk, survey_like

ROOT = Path(__file__).resolve().parents[3]
DELIBERATION = ROOT / "deliberations" / "26-104.yaml"
KEYS = ",".join(TESTDATA_KEYS)


def kluis(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert text in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def survey_csv(tmp_path_factory) -> Path:
    return survey_like(tmp_path_factory.mktemp("survey") / "survey.csv")


@pytest.fixture(scope="module")
def testdata_report(tmp_path_factory, survey_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("r") / "report"
    result = kluis(
        "risk",
        survey_csv,
        "--keys",
        KEYS,
        "--weight",
        "sampling_weight",
        "--household",
        "ori_hid",
        "--sensitive",
        "hhcivil",
        "--suppress",
        "--optimise",
        "greedy",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    return out


def test_report_holds_the_measures(survey_csv: Path, testdata_report: Path) -> None:
    body = json.loads((testdata_report / "risk.json").read_text())
    assert body["records"] == 4580
    assert set(body["k_violations"]) == {"2", "3", "5"}
    fk, _ = reference_fk(pd.read_csv(survey_csv), TESTDATA_KEYS)  # independent brute force
    for k in (2, 3, 5):
        assert body["k_violations"][str(k)] == int((fk < k).sum())
    assert body["household_expected_reidentifications"] > body["expected_reidentifications"]
    assert body["l_diversity"]["sensitive"] == "hhcivil"
    assert body["settings"]["Fk"] == "sum of the sampling weights"
    assert "missing key value matches every value" in body["missing_value_rule"]
    page = (testdata_report / "risk.html").read_text()
    assert page.count("<img") >= 3
    # nothing identifying in the report: no household ids, no sensitive values
    assert "ori_hid" in body["settings"]["household"]
    assert "ori_hid" not in json.dumps(body["after_suppression"])


def test_suppressed_table_is_k_anonymous_and_otherwise_unchanged(
    survey_csv: Path, testdata_report: Path
) -> None:
    body = json.loads((testdata_report / "risk.json").read_text())
    original = pd.read_csv(survey_csv)
    released = pd.read_parquet(testdata_report / body["protected_table"])
    assert list(released.columns) == list(original.columns)
    assert len(released) == len(original)
    others = [c for c in original.columns if c not in TESTDATA_KEYS]
    pd.testing.assert_frame_equal(released[others], original[others], check_dtype=False)
    keys = list(TESTDATA_KEYS)
    nulls = released[keys].isna() & original[keys].notna()  # suppressed, not missing before
    assert int(nulls.to_numpy().sum()) == body["suppressions"]["total"]
    assert body["suppressions"]["per_key"] == {k: int(nulls[k].sum()) for k in keys}
    shown = released[keys].astype(object).where(released[keys].notna(), "-")
    assert (shown.groupby(keys)[keys[0]].transform("size") >= 3).all()
    kept = ~released[keys].isna().any(axis=1)
    pd.testing.assert_frame_equal(
        released.loc[kept, keys], original.loc[kept, keys], check_dtype=False
    )
    assert body["after_suppression"]["k_violations"]["3"] == 0
    assert body["after_suppression"]["sample_uniques"] == 0


def test_report_is_registered_in_the_catalogue(testdata_report: Path) -> None:
    from kluis.audit import catalogue

    entries = [e for e in catalogue.entries() if e.kind == "risk-report"]
    assert any(Path(e.path) == testdata_report.absolute() for e in entries)


def test_same_input_same_bytes(survey_csv: Path, tmp_path: Path) -> None:
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = [
            "risk",
            survey_csv,
            "--keys",
            "urbrur,roof,walls,sex",
            "--weight",
            "sampling_weight",
            "--suppress",
            "--k",
            "5",
            "--out",
            out,
        ]
        assert kluis(*args).exit_code == 0
        outs.append(out)
    for f in ("risk.json", "risk.html", "suppressed.parquet"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f


def test_a_rerun_replaces_a_report_but_never_another_directory(
    survey_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    assert kluis("risk", survey_csv, "--keys", "sex,urbrur", "--out", out).exit_code == 0
    assert kluis("risk", survey_csv, "--keys", "sex,roof", "--out", out).exit_code == 0
    assert json.loads((out / "risk.json").read_text())["settings"]["keys"] == ["sex", "roof"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    result = kluis("risk", survey_csv, "--keys", "sex", "--out", other)
    _one_line_error(result, 2, "not a risk report")
    assert (other / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--keys", "urbrur,nope"], "no column 'nope'"),
        (["--keys", "urbrur", "--weight", "sex2"], "no column 'sex2'"),
        (["--keys", "urbrur,urbrur"], "named twice"),
        (["--keys", "urbrur", "--k", "1"], "k-anonymity needs k >= 2"),
        (["--keys", "urbrur", "--sensitive", "urbrur"], "two roles"),
        (["--keys", "urbrur", "--importance", "urbrur=0"], "WEIGHT > 0"),
        (["--keys", "urbrur", "--importance", "sex=2"], "not key variables"),
        (["--keys", "urbrur", "--recode", "urbrur=x"], "--recode needs --deliberation"),
        (["--keys", "urbrur", "--person", "ori_hid"], "--person needs --year"),
        ([], "no key variables"),
    ],
)
def test_bad_options_are_one_line(survey_csv: Path, tmp_path: Path, args, text) -> None:
    result = kluis("risk", survey_csv, *args, "--out", tmp_path / "o")
    _one_line_error(result, 2, text)
    assert not (tmp_path / "o").exists()


def test_bad_files_are_one_line(tmp_path: Path) -> None:
    _one_line_error(
        kluis("risk", tmp_path / "none.csv", "--keys", "a", "--out", tmp_path / "o"),
        2,
        "no such file",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a,w\n1,2\n2,-1\n")
    _one_line_error(
        kluis("risk", bad, "--keys", "a", "--weight", "w", "--out", tmp_path / "o"),
        2,
        "row 2: weight column 'w' is missing or not positive",
    )
    text = tmp_path / "t.json"
    text.write_text("{}")
    _one_line_error(
        kluis("risk", text, "--keys", "a", "--out", tmp_path / "o"), 2, "not a CSV or Parquet"
    )


def test_a_researcher_may_not_measure_risk(survey_csv: Path, tmp_path: Path, monkeypatch) -> None:
    from kluis.access import Users, current_account

    home = tmp_path / "home"
    home.mkdir()
    Users(home / "users.yaml").add(
        "someone", "researcher", password="pw", account=current_account()
    )
    monkeypatch.setenv("KLUIS_HOME", str(home))
    monkeypatch.setenv("KLUIS_AUDIT_LOG", str(home / "audit.jsonl"))
    result = kluis("risk", survey_csv, "--keys", "sex", "--out", tmp_path / "o")
    assert result.exit_code == 3, result.output
    assert "may not run `kluis risk`" in result.output
    assert not (tmp_path / "o").exists()


# -- an extract table under deliberation 26/104 -----------------------------------------------

EXTRACT_COLUMNS = [
    "person_id",
    "year",
    "age",
    "sex",
    "nationality",
    "birth_country",
    "province",
    "household_type",
    "n_children",
]


def _extract(tmp_path: Path, rows: list[tuple], number: str = "26/104") -> Path:
    """A minimal extract: table1_next/year=YYYY/part-0.parquet and a manifest."""
    root = tmp_path / "extract"
    df = pd.DataFrame(rows, columns=EXTRACT_COLUMNS)
    for year, part in df.groupby("year"):
        d = root / "table1_next" / f"year={year}"
        d.mkdir(parents=True)
        part.to_parquet(d / "part-0.parquet", index=False)
    (root / "manifest.json").write_text(
        json.dumps({"deliberation": number, "retention": "2032-12-31"})
    )
    return root / "table1_next"


def _panel_rows(n: int = 60) -> list[tuple]:
    """n persons in 2024 and 2025 with varied (deliberation-coarsened) key values."""
    import numpy as np

    rng = np.random.default_rng(3)
    ages = ["15-19", "20-24", "25-29", "30-34", "35-39", "40-44"]
    provinces = ["10000", "20001", "20002", "21000", "30000"]
    nationality = ["Belgium", "Belgium", "Belgium", "EU-13", "Asia"]
    rows = []
    for p in range(n):
        age, prov, nat = rng.integers(6), rng.choice(provinces), rng.choice(nationality)
        for year in (2024, 2025):
            rows.append(
                (
                    p,
                    year,
                    ages[min(5, age + year - 2024)],
                    str(1 + p % 2),
                    nat,
                    nat,
                    str(prov),
                    "01",
                    "0",
                )
            )
    return rows


def test_keys_person_and_year_come_from_the_deliberation(tmp_path: Path) -> None:
    table = _extract(tmp_path, _panel_rows())
    out = tmp_path / "r"
    result = kluis("risk", table, "--deliberation", DELIBERATION, "--out", out)
    assert result.exit_code == 0, result.output
    body = json.loads((out / "risk.json").read_text())
    assert body["deliberation"] == "26/104"
    assert body["settings"]["keys"] == [
        "age",
        "sex",
        "nationality",
        "birth_country",
        "province",
        "household_type",
        "n_children",
    ]
    assert body["settings"]["person"] == "person_id" and body["settings"]["year"] == "year"
    assert set(body["per_year"]) == {"2024", "2025"}
    assert body["longitudinal"]["persons"] == 60
    assert "panel" in result.output


def test_recoding_coarsens_within_the_catalogue(tmp_path: Path) -> None:
    table = _extract(tmp_path, _panel_rows())
    plain, coarse = tmp_path / "plain", tmp_path / "coarse"
    base = ["risk", table, "--deliberation", DELIBERATION]
    assert kluis(*base, "--out", plain).exit_code == 0
    result = kluis(*base, "--recode", "age=age_10y,province=province_region", "--out", coarse)
    assert result.exit_code == 0, result.output
    before = json.loads((plain / "risk.json").read_text())
    after = json.loads((coarse / "risk.json").read_text())
    assert after["settings"]["recode"]["age"] == {"from": "age_5y", "to": "age_10y"}
    assert after["key_patterns"] < before["key_patterns"]
    assert after["sample_uniques"] <= before["sample_uniques"]
    refused = kluis(*base, "--recode", "age=age_5y", "--out", tmp_path / "x")
    _one_line_error(refused, 2, "'age_5y' is not coarser")
    refused = kluis(*base, "--recode", "sex=province_region", "--out", tmp_path / "x")
    _one_line_error(refused, 2, "coarser schemes: none in the catalogue")


def test_recoding_refuses_values_the_deliberation_does_not_give(tmp_path: Path) -> None:
    rows = _panel_rows(8)
    rows[0] = (0, 2024, "17", *rows[0][3:])  # an exact age, not a class of age_5y
    table = _extract(tmp_path, rows)
    result = kluis(
        "risk",
        table,
        "--deliberation",
        DELIBERATION,
        "--recode",
        "age=age_10y",
        "--out",
        tmp_path / "r",
    )
    _one_line_error(result, 2, "holds '17', which is not a class of 'age_5y'")


def test_population_counts_give_fk(tmp_path: Path) -> None:
    sample_rows = _panel_rows(20)
    table = _extract(tmp_path / "s", sample_rows)
    # the population: the sample's persons and as many again
    pop_rows = sample_rows + [(row[0] + 1000, *row[1:]) for row in sample_rows]
    population = _extract(tmp_path / "p", pop_rows)
    out = tmp_path / "r"
    result = kluis(
        "risk", table, "--deliberation", DELIBERATION, "--population", population, "--out", out
    )
    assert result.exit_code == 0, result.output
    body = json.loads((out / "risk.json").read_text())
    assert body["settings"]["Fk"] == "count in the full population"
    # every combination is twice as frequent in the population: pk = 1/2, so a sample unique
    # has risk (pk / (1 - pk)) ln(1 / pk) = ln 2
    assert body["sample_uniques"] > 0
    assert body["max_individual_risk"] == pytest.approx(math.log(2))
    page = (out / "risk.html").read_text()
    assert "risk band" in page and "<th>Fk</th>" not in page  # no population count shown
    small = _extract(tmp_path / "q", sample_rows[: len(sample_rows) // 2])
    refused = kluis(
        "risk",
        table,
        "--deliberation",
        DELIBERATION,
        "--population",
        small,
        "--out",
        tmp_path / "x",
    )
    _one_line_error(refused, 2, "not the population the sample was drawn from")


def test_an_extract_of_another_deliberation_is_refused(tmp_path: Path) -> None:
    table = _extract(tmp_path, _panel_rows(), number="24/074")
    result = kluis("risk", table, "--deliberation", DELIBERATION, "--out", tmp_path / "r")
    _one_line_error(result, 2, "extracted under deliberation 24/074")


def test_help_lists_the_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "risk" in result.output
    assert os.environ.get("KLUIS_HOME")  # the tests' temporary home, never ~/.kluis


def test_demo_summary_reads_the_report(tmp_path: Path) -> None:
    from rich.console import Console

    from kluis.demo.risk import summary_table

    table = _extract(tmp_path, _panel_rows())
    out = tmp_path / "r"
    result = kluis("risk", table, "--deliberation", DELIBERATION, "--suppress", "--out", out)
    assert result.exit_code == 0, result.output
    body = json.loads((out / "risk.json").read_text())
    console = Console(width=120, record=True)
    console.print(summary_table(body))
    text = console.export_text()
    assert "2024" in text and "2025" in text
    assert f"unique over their years {body['longitudinal']['unique_over_years']:,}" in text
    assert "after suppression" in text


def test_a_population_of_another_kind_is_refused(tmp_path: Path) -> None:
    table = _extract(tmp_path / "s", _panel_rows(10))
    other = tmp_path / "pop.csv"
    pd.DataFrame(
        {
            "year": [2024],
            "age": [17],
            "sex": [1],
            "nationality": ["Belgium"],
            "birth_country": ["Belgium"],
            "province": [10000],
            "household_type": [1],
            "n_children": [0],
        }
    ).to_csv(other, index=False)
    result = kluis(
        "risk",
        table,
        "--deliberation",
        DELIBERATION,
        "--population",
        other,
        "--out",
        tmp_path / "r",
    )
    _one_line_error(result, 2, "column 'age' is BIGINT, but VARCHAR")


def test_ragged_and_empty_csv_are_one_line(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n4,5\n")
    _one_line_error(
        kluis("risk", ragged, "--keys", "a,b", "--out", tmp_path / "o"),
        2,
        "line 3 has 1 field(s), the header 2",
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    _one_line_error(
        kluis("risk", empty, "--keys", "a,b", "--out", tmp_path / "o"), 2, "no records to measure"
    )
