"""SPSS syntax: GET FILE of an extract table rewritten in place; DuckDB CSV + generated GET DATA
and labels read by the real GNU PSPP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kluis.enclave.extract import ExtractInfo, TableInfo
from kluis.enclave.scan import scan_pspp_csv
from kluis.enclave.spss import SyntaxRefused, commands, plan, prepare

COLUMNS = ("person_id", "year", "province", "sex", "deceased_next", "n")


@pytest.fixture
def extract(tmp_path: Path) -> ExtractInfo:
    """A one-table extract: 23 persons in 2025, 3 of them in Luxembourg (80000)."""
    root = tmp_path / "extract"
    part = root / "table1_next" / "year=2025" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    provinces = ["10000"] * 20 + ["80000"] * 3
    pq.write_table(
        pa.table(
            {
                "person_id": pa.array(range(1, 24), pa.int64()),
                "year": pa.array([2025] * 23, pa.int16()),
                "province": provinces,
                "sex": ["1", "2"] * 11 + ["1"],
                "deceased_next": [False] * 22 + [True],
                "n": pa.array([1.5] * 23),
            }
        ),
        part,
    )
    fields = [
        {
            "name": "province",
            "title": "Province of residence",
            "categories": [
                {"value": "10000", "label": "Antwerp"},
                {"value": "80000", "label": "Luxembourg's"},
            ],
        },
        {"name": "sex", "title": "Sex"},
    ]
    (root / "datapackage.json").write_text(
        json.dumps({"resources": [{"name": "table1_next", "schema": {"fields": fields}}]})
    )
    table = TableInfo(
        "table1_next",
        ("table1_next/year=2025/part-0.parquet",),
        COLUMNS,
        "person",
        ("person_id", "year"),
        person="person_id",
    )
    return ExtractInfo(
        root, {"deliberation": "26/104", "phase": "full"}, "0" * 64, {"table1_next": table}
    )


def test_commands_end_at_a_period_or_a_blank_line():
    text = "GET FILE='a.sav'\n  /KEEP=x.\nFREQUENCIES x\n\nLIST."
    assert [(a, b) for a, b, _ in commands(text)] == [(0, 1), (2, 2), (4, 4)]


def test_get_file_rewritten_on_its_own_lines(extract):
    text = "* comment.\nGET FILE='sav/table1_next_2025.sav'\n  /KEEP=province TO sex.\nLIST."
    syntax, needs = plan(text, extract, "f.sps", data_mount="/d")
    assert syntax.count("\n") == text.count("\n")  # PSPP's messages keep their line numbers
    lines = syntax.split("\n")
    assert lines[1] == f"INSERT FILE='/d/{needs[0].stem}.sps'." and lines[2] == ""
    assert (needs[0].table, needs[0].year, needs[0].columns) == (
        "table1_next",
        2025,
        ("province", "sex"),
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("GET FILE='table1_next_2025.sav' /RENAME=(sex=s).", "RENAME"),
        ("GET FILE='table1_next_2025.sav' /KEEP=nothing.", "no variable"),
        ("GET FILE='table1_next_2019.sav'.", "no year 2019"),
    ],
)
def test_refused(extract, text, why):
    with pytest.raises(SyntaxRefused, match=why):
        plan(text, extract, "f.sps")


def test_other_files_are_left_alone(extract):
    text = "GET FILE='my_own.sav'.\nFREQUENCIES x."
    assert plan(text, extract, "f.sps") == (text, [])


def test_pspp_reads_the_generated_data_and_a_count_of_3_is_flagged(extract, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    text = (
        "GET FILE='table1_next_2025.sav' /DROP=year.\n"
        "FREQUENCIES /VARIABLES=province deceased_next.\n"
    )
    syntax, needs = plan(text, extract, "f.sps", data_mount=str(data))
    prepare(needs[0], extract, data, data_mount=str(data))
    job = data / "job.sps"
    job.write_text(syntax)
    out = tmp_path / "out.csv"
    done = subprocess.run(
        ["pspp", "--safer", "-o", str(out), str(job)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = out.read_text()
    assert "Luxembourg's,3," in result  # value labels from the data package, quote included
    flags = scan_pspp_csv(result, 10)
    assert {"table": "Province of residence", "value": "3", "reason": "count below 10"} in [
        {k: f[k] for k in ("table", "value", "reason")} for f in flags
    ]
    assert not any(f["value"] == "20" for f in flags)
