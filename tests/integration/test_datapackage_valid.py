"""Every extract's datapackage.json is a valid Frictionless Data Package, and its data fit it.

Frictionless (the reference implementation of the standard) checks the descriptor against the
Data Package and Table Schema profiles, then reads the rows and checks each against its field:
type, `required`, `minimum`, `enum`, and the primary key's uniqueness. Frictionless 5 reads only
the first file of a resource whose `path` lists several Parquet files, so each resource's files
(one per year) are also joined into one file and validated under the same schema: every row of
every year, and the key unique across years. Both deliberations, on the small generated
warehouse, in the phases that keep the run short (the development sample of 26/104 over two
years; both phases of 24/074, which are aggregates)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from frictionless import validate
from typer.testing import CliRunner

from kluis.cli import app
from kluis.extract.run import run_extract
from kluis.pseudonym import KeyStore
from tests.spec.tinywh import small_deliberation

DELIBERATIONS = Path(__file__).resolve().parents[2] / "deliberations"


def _check(report) -> None:
    problems = report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    assert report.valid, problems[:20]


def _valid(out: Path, work: Path) -> None:
    _check(validate(out / "datapackage.json"))  # the descriptor as published
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["resources"]
    work.mkdir()
    rows = {}
    for res in descriptor["resources"]:
        assert len(res["path"]) > 1  # one file per year: why the join below is needed
        data = pa.concat_tables([pq.read_table(out / p) for p in res["path"]])
        pq.write_table(data, work / f"{res['name']}.parquet")
        res["path"] = f"{res['name']}.parquet"
        rows[res["name"]] = data.num_rows
    (work / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = validate(work / "datapackage.json")
    _check(report)
    assert {t.name: t.stats["rows"] for t in report.tasks} == rows  # every row was read


def test_person_panels_datapackage_is_valid(small_warehouse: Path, tmp_path: Path) -> None:
    delib = small_deliberation(tmp_path / "delib", (2025, 2026), persons_per_year=60)
    KeyStore(tmp_path / "ks").create("26/104")
    out = tmp_path / "dev"
    run_extract(
        delib,
        small_warehouse,
        "development",
        out,
        keystore=tmp_path / "ks",
        today=dt.date(2026, 11, 22),
        registry={},
    )
    _valid(out, tmp_path / "joined")


@pytest.mark.parametrize("phase", ["development", "full"])
def test_employer_aggregates_datapackage_is_valid(
    phase: str, small_warehouse: Path, tmp_path: Path
) -> None:
    nbb = tmp_path / "nbb.csv"
    runner = CliRunner()
    done = runner.invoke(
        app, ["warehouse", "nbb-list", "--warehouse", str(small_warehouse), "--out", str(nbb)]
    )
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["keys", "create", "24/074", "--keystore", str(tmp_path / "ks")])
    assert done.exit_code == 0, done.output
    out = tmp_path / phase
    done = runner.invoke(
        app,
        [
            "extract",
            str(DELIBERATIONS / "24-074.yaml"),
            "--warehouse",
            str(small_warehouse),
            "--keystore",
            str(tmp_path / "ks"),
            "--today",
            "2025-01-01",
            "--enterprises",
            str(nbb),
            "--phase",
            phase,
            "--out",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    _valid(out, tmp_path / "joined")
