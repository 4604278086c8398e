"""`kluis warehouse validate`: exit codes, the table and the JSON output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from tests.unit.warehouse import tiny


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build(tmp_path_factory.mktemp("tiny") / "wh")


def run(*args: str):
    return CliRunner().invoke(app, ["warehouse", "validate", *args], env={"COLUMNS": "200"})


def test_valid_warehouse_exits_0(template: Path) -> None:
    res = run(str(template))
    assert res.exit_code == 0, res.output
    assert "VALID: 0 error(s)" in res.output


def test_invalid_warehouse_exits_1_and_names_the_place(template: Path, tmp_path: Path) -> None:
    wh = Path(shutil.copytree(template, tmp_path / "wh"))
    tiny.replace_value(wh, "person_year", 2025, 6, "sep_code", "9.9")
    tiny.seal(wh)
    res = run(str(wh))
    assert res.exit_code == 1
    for text in (
        "INVALID: 1 error(s)",
        "person_year.sep_code",
        "9.9",
        "person_year/year=2025/part-0.parquet",
    ):
        assert text in res.output


def test_json_output(template: Path, tmp_path: Path) -> None:
    wh = Path(shutil.copytree(template, tmp_path / "wh"))
    tiny.replace_value(wh, "employments", 2025, 0, "days", 999)
    tiny.seal(wh)
    res = run(str(wh), "--json", "--max-examples", "1")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["errors"] == 1
    (p,) = data["problems"]
    assert (p["check"], p["table"], p["column"]) == ("range", "employments", "days")
    assert p["examples"] == [
        {"file": "employments/year=2025/part-0.parquet", "row": 1, "value": "999"}
    ]


def test_missing_directory_exits_2(tmp_path: Path) -> None:
    res = run(str(tmp_path / "nope"))
    assert res.exit_code == 2
    assert "not a directory" in res.output
