"""`kluis warehouse` commands with bad options and targets, through the CLI: exit 2 with the
option or path named, nothing written; results on stdout, errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app

runner = CliRunner()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_nbb_list_out_is_a_directory(tiny_warehouse, tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "old.csv").write_text("keep me\n")
    result = runner.invoke(
        app, ["warehouse", "nbb-list", "--warehouse", str(tiny_warehouse), "--out", str(folder)]
    )
    assert result.exit_code == 2
    assert f"--out {folder} is a directory; give the name of the CSV file" in result.stderr
    assert _files(tmp_path) == {str(folder / "old.csv"): b"keep me\n"}


@pytest.mark.parametrize("share", ["2.0", "-1", "1.5", "lots"])
def test_nbb_list_automating_share_outside_0_1(tiny_warehouse, tmp_path, share):
    out = tmp_path / "nbb.csv"
    result = runner.invoke(
        app,
        ["warehouse", "nbb-list", "--warehouse", str(tiny_warehouse), "--out", str(out)]
        + ["--automating-share", share],
    )
    assert result.exit_code == 2
    assert "--automating-share" in result.stderr
    assert not out.exists()


def test_nbb_list_writes_on_stdout_and_refuses_a_broken_employers_file(
    warehouse_copy, tiny_warehouse, tmp_path
):
    out = tmp_path / "nbb.csv"
    ok = runner.invoke(
        app, ["warehouse", "nbb-list", "--warehouse", str(tiny_warehouse), "--out", str(out)]
    )
    assert ok.exit_code == 0 and ok.stdout.startswith(f"wrote {out}: ")
    assert out.read_text().startswith("kbo_number,rsz_number,group\n")

    def garbage(src: Path, dst: Path) -> None:
        dst.write_bytes(b"PAR1" + b"\x00" * 100)

    rel = "employers/part-0.parquet"
    wh = warehouse_copy(rel, garbage)
    out2 = tmp_path / "nbb2.csv"
    bad = runner.invoke(app, ["warehouse", "nbb-list", "--warehouse", str(wh), "--out", str(out2)])
    assert bad.exit_code == 2
    assert f"{wh / rel}: cannot read this Parquet file" in bad.stderr
    assert not out2.exists()


def test_validate_exit_codes_and_options(warehouse_copy, tiny_warehouse, tmp_path):
    good = runner.invoke(app, ["warehouse", "validate", str(tiny_warehouse), "--json"])
    assert good.exit_code == 0 and json.loads(good.stdout)["ok"] is True
    lots = runner.invoke(
        app, ["warehouse", "validate", str(tiny_warehouse), "--memory-limit", "lots"]
    )
    assert lots.exit_code == 2 and "'lots' is not a memory size" in lots.stderr

    def truncate(src: Path, dst: Path) -> None:
        dst.write_bytes(src.read_bytes()[:100])

    wh = warehouse_copy("person_year/year=2020/part-0.parquet", truncate)
    bad = runner.invoke(app, ["warehouse", "validate", str(wh), "--json"])
    assert bad.exit_code == 1  # read and checked: refused
    report = json.loads(bad.stdout)  # the report is the result, on stdout
    assert not report["ok"]
    assert f"warehouse {wh}: " in bad.stderr and "error(s); see the report" in bad.stderr


def test_profile_never_replaces_a_folder_of_other_files(tiny_warehouse, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "letter.odt").write_bytes(b"dear committee")
    result = runner.invoke(app, ["warehouse", "profile", str(tiny_warehouse), "--out", str(folder)])
    assert result.exit_code == 2
    assert "holds other files than a profile (letter.odt)" in result.stderr
    assert _files(tmp_path) == {str(folder / "letter.odt"): b"dear committee"}
    year = runner.invoke(app, ["warehouse", "profile", str(tiny_warehouse), "--year", "1990"])
    assert year.exit_code == 2 and "--year 1990 is outside the warehouse's years" in year.stderr


def test_profile_replaces_its_own_previous_profile(tiny_warehouse, tmp_path):
    out = tmp_path / "profile"
    argv = ["warehouse", "profile", str(tiny_warehouse), "--out", str(out)]
    first = runner.invoke(app, argv)
    assert first.exit_code == 0, first.output
    names = sorted(p.name for p in out.iterdir())
    again = runner.invoke(app, argv)
    assert again.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == names and "profile.json" in names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile"]  # no temporary, no lock
