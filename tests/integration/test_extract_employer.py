"""24/074 end to end through the CLI on the generated warehouse: NBB list -> key -> both phases.

The full phase is recounted independently with pandas straight from the warehouse's Parquet
files; every output file (Parquet, SPSS, Stata, JSON, Markdown) is searched for the
warehouse's identifiers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.deliberation.coarsening import scheme
from kluis.extract.delivery.publish import verify
from kluis.extract.employers.build import REPORT_FILE, enterprise_map
from kluis.extract.employers.nbb import load_nbb_list
from kluis.pseudonym import KeyStore
from kluis.warehouse import identifiers as ids
from kluis.warehouse.layout import table_path

DELIBERATION = Path(__file__).resolve().parents[2] / "deliberations" / "24-074.yaml"
YEARS = range(2003, 2022)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def setup(small_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-employer")
    keys, nbb = root / "keys", root / "nbb.csv"
    code, out = cli("warehouse", "nbb-list", "--warehouse", small_warehouse, "--out", nbb)
    assert code == 0, out
    code, out = cli("keys", "create", "24/074", "--keystore", keys)
    assert code == 0, out
    common = [
        "--warehouse",
        small_warehouse,
        "--keystore",
        keys,
        "--today",
        "2025-01-01",
        "--enterprises",
        nbb,
    ]
    outs = {}
    for phase in ("full", "development"):
        outs[phase] = root / f"out-{phase}"
        code, out = cli(
            "extract",
            DELIBERATION,
            "--phase",
            phase,
            "--out",
            outs[phase],
            "--format",
            "parquet,sav,dta",
            *common,
        )
        assert code == 0, out
    return {
        "root": root,
        "keys": keys,
        "nbb": nbb,
        "outs": outs,
        "common": common,
        "wh": small_warehouse,
    }


def _read(out: Path, table: str) -> pd.DataFrame:
    frames = [pq.read_table(p).to_pandas() for p in sorted((out / table).glob("year=*/*.parquet"))]
    df = pd.concat(frames, ignore_index=True)
    for c in df.columns:  # dictionary-encoded classes -> their values
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(str)
    return df


def _classes(values: pd.Series, name: str) -> pd.Series:
    """The published class label of each value, computed here from the scheme's breaks."""
    s = scheme(name)
    rounded = values.to_numpy(float).round(6)  # the documented rule: means rounded to 6 decimals
    idx = np.searchsorted(np.asarray(s.breaks, dtype=float), rounded, "right")
    labels = np.array([None, *s.labels], dtype=object)
    return pd.Series(labels[idx], index=values.index)


def _independent(wh: Path, nbb: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cells (count, wage class, FTE class) and employer-years (group, age class), by pandas."""
    listed = pd.read_csv(nbb, dtype=str)
    persons = pq.read_table(table_path(wh, "persons"), columns=["insz", "birth_date"]).to_pandas()
    keys = ["rsz_number", "year", "education_level", "education_field"]
    cells, employers = [], []
    for y in YEARS:
        jobs = pq.read_table(table_path(wh, "employments", y)).to_pandas()
        py = pq.read_table(
            table_path(wh, "person_year", y), columns=["insz", "education_level", "education_field"]
        ).to_pandas()
        j = jobs[jobs.rsz_number.isin(listed.rsz_number)].merge(py, on="insz", how="left")
        j[["education_level", "education_field"]] = j[
            ["education_level", "education_field"]
        ].fillna("999")
        c = (
            j.groupby(keys)
            .agg(
                n=("insz", "size"), wage=("gross_taxable_annual_wage", "mean"), fte=("fte", "mean")
            )
            .reset_index()
        )
        c["wage"] = _classes(c.wage, "annual_wage_classes")
        c["fte"] = _classes(c.fte, "fte_mean_classes")
        cells.append(c)
        j = j.merge(persons, on="insz", how="left")
        j["age"] = y - pd.to_datetime(j.birth_date).dt.year
        e = j.groupby(["rsz_number", "year"]).agg(age=("age", "mean")).reset_index()
        e["age"] = _classes(e.age, "mean_age_classes")
        employers.append(e.merge(listed[["rsz_number", "group"]], on="rsz_number"))
    return pd.concat(cells, ignore_index=True), pd.concat(employers, ignore_index=True)


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = df.copy()
    for c in ("year", "n"):
        if c in df:
            df[c] = df[c].astype("int64")
    return df.sort_values(keys).reset_index(drop=True)


def test_full_phase_equals_an_independent_count(setup):
    key = KeyStore(setup["keys"]).load("24/074")
    seq = enterprise_map(load_nbb_list(setup["nbb"]), key).to_pandas()
    seq = seq[["employer_id", "rsz_number"]]
    exp_cells, exp_emp = _independent(setup["wh"], setup["nbb"])
    cells = _read(setup["outs"]["full"], "employer_education").merge(seq, on="employer_id")
    keys = ["rsz_number", "year", "education_level", "education_field"]
    got = cells.rename(columns={"n_employees": "n", "mean_annual_wage": "wage", "mean_fte": "fte"})[
        [*keys, "n", "wage", "fte"]
    ]
    assert len(exp_cells) > 1_000 and len(got) == len(exp_cells)
    pd.testing.assert_frame_equal(_sorted(got, keys), _sorted(exp_cells, keys))
    emp = _read(setup["outs"]["full"], "employer_education_employers").merge(seq, on="employer_id")
    cols = ["rsz_number", "year", "age", "group"]
    got_emp = emp.rename(columns={"mean_age": "age"})[cols]
    k = ["rsz_number", "year"]
    pd.testing.assert_frame_equal(_sorted(got_emp, k), _sorted(exp_emp[cols], k))


def _identifiers(wh: Path) -> set[str]:
    emp = pq.read_table(table_path(wh, "employers"), columns=["kbo_number", "rsz_number"])
    persons = pq.read_table(table_path(wh, "persons"), columns=["insz"])
    return (
        set(emp.column("kbo_number").to_pylist())
        | set(emp.column("rsz_number").to_pylist())
        | set(persons.column("insz").to_pylist())
    )


@pytest.mark.parametrize("phase", ["full", "development"])
def test_no_identifier_anywhere_in_the_extract(setup, phase):
    out = setup["outs"][phase]
    ids = _identifiers(setup["wh"])
    digits = re.compile(r"\d{9,11}")
    seen_files = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        seen_files += 1
        if path.suffix == ".parquet":
            values = json.dumps(pq.read_table(path).to_pylist(), default=str)
        elif path.suffix == ".sav":
            values = pyreadstat.read_sav(path)[0].to_json()
        elif path.suffix == ".dta":
            values = pyreadstat.read_dta(path)[0].to_json()
        else:
            values = path.read_text(encoding="utf-8")
        found = set(digits.findall(values)) & ids
        assert not found, f"{path}: {sorted(found)[:3]}"
        for name in ("kbo_number", "rsz_number", "insz"):
            assert name not in values or path.suffix in (".md", ".json"), path
    assert seen_files > 10


def test_development_extract_carries_the_scrambling_report(setup):
    out = setup["outs"]["development"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert REPORT_FILE in manifest["files"]
    assert verify(out) == []
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["marginals_equal"] is True
    cells = _read(out, "employer_education")
    assert cells.n_employees.sum() == report["fragment"]["records"]
    assert report["fragment"]["records"] <= 3_000
    assert "SCRAMBLED" in (out / "codebook.md").read_text()
    assert (
        REPORT_FILE
        not in json.loads((setup["outs"]["full"] / "manifest.json").read_text())["files"]
    )


def test_rerun_gives_identical_files(setup, tmp_path):
    again = tmp_path / "again"
    code, out = cli(
        "extract",
        DELIBERATION,
        "--phase",
        "development",
        "--out",
        again,
        "--format",
        "parquet,sav,dta",
        *setup["common"],
    )
    assert code == 0, out
    first = json.loads((setup["outs"]["development"] / "manifest.json").read_text())["files"]
    second = json.loads((again / "manifest.json").read_text())["files"]
    assert first == second


def test_bad_nbb_list_stops_the_extract_with_line_errors(setup, tmp_path):
    lines = setup["nbb"].read_text().splitlines()
    lines[3] = lines[3].replace("control", "kontrol").replace("intervention", "kontrol")
    lines.append(lines[1])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    common = [a if a != str(setup["nbb"]) else str(bad) for a in map(str, setup["common"])]
    out_dir = tmp_path / "never"
    code, out = cli("extract", DELIBERATION, "--phase", "full", "--out", out_dir, *common)
    assert code != 0
    text = " ".join(out.split())
    assert "line 4, group" in text and f"line {len(lines)}: duplicate of line 2" in text
    assert not out_dir.exists()


def test_unknown_enterprise_is_listed_and_counted(setup, tmp_path):
    lines = setup["nbb"].read_text().splitlines()
    kbo = ids.kbo_from_base(np.array([19_999_999]))[0].as_py()  # valid, not in the warehouse
    rsz = ids.rsz_from_base(np.array([9_999_999]))[0].as_py()
    lines.append(f"{kbo},{rsz},control")
    with_unknown = tmp_path / "unknown.csv"
    with_unknown.write_text("\n".join(lines) + "\n")
    common = [a if a != str(setup["nbb"]) else str(with_unknown) for a in map(str, setup["common"])]
    out_dir = tmp_path / "out"
    code, out = cli("extract", DELIBERATION, "--phase", "full", "--out", out_dir, *common)
    assert code == 0, out
    assert "1 unknown to the warehouse" in (out_dir / "codebook.md").read_text()
