"""`kluis tables protect` answering bad input: exit code, a message naming the file and the line,
row or column, no traceback, and nothing written or moved (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kluis.cli import app

SPEC = "name: jobs\ndimensions:\n  - column: region\n  - column: sector\nperson_id: person\n"
AGG_SPEC = "name: agg\ndimensions:\n  - column: region\n  - column: sector\ncount_column: n\n"


def _micro(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "region": rng.choice(list("abc"), n),
            "sector": rng.choice(list("XY"), n),
        }
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(root.rglob("*"))
    }


def _protect(tmp_path: Path, *args, code: int = 2) -> str:
    """Run the command; check the exit code, that there is no traceback, and that nothing under
    tmp_path was written, changed or moved."""
    before = _tree(tmp_path)
    res = CliRunner().invoke(app, ["tables", "protect", *map(str, args)])
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    assert _tree(tmp_path) == before, "the command wrote, changed or moved files"
    return res.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "micro.csv"
    _micro().to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return {"data": data, "spec": spec}


def _aggregated(tmp_path: Path, counts: list) -> tuple[Path, Path]:
    data = tmp_path / "agg.csv"
    frame = pd.DataFrame(
        {"region": ["a", "a", "b", "b"], "sector": ["X", "Y", "X", "Y"], "n": counts}
    )
    frame.to_csv(data, index=False)
    spec = tmp_path / "agg.yaml"
    spec.write_text(AGG_SPEC)
    return data, spec


def test_non_numeric_count(tmp_path):
    data, spec = _aggregated(tmp_path, [40, 50, "lots", 60])
    out = _protect(tmp_path, data, "--spec", spec)
    assert f"{data}: row 3: column n has value 'lots', which is not a number" in out


def test_negative_count_is_refused(tmp_path):
    data, spec = _aggregated(tmp_path, [40, 50, -3, 60])
    out = _protect(tmp_path, data, "--spec", spec)
    assert f"{data}: row 3: column n has value -3" in out and "negative" in out


def test_fractional_count_is_refused(tmp_path):
    data, spec = _aggregated(tmp_path, [40, 50, 2.5, 60])
    out = _protect(tmp_path, data, "--spec", spec)
    assert "row 3: column n" in out and "whole number" in out


def test_corrupt_parquet(tmp_path, files):
    bad = tmp_path / "table.parquet"
    bad.write_bytes(b"PAR1" + os.urandom(200))
    out = _protect(tmp_path, bad, "--spec", files["spec"])
    assert f"{bad}: not a readable Parquet file" in out


def test_truncated_parquet(tmp_path, files):
    good = tmp_path / "good.parquet"
    _micro().to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out = _protect(tmp_path, cut, "--spec", files["spec"])
    assert f"{cut}: not a readable Parquet file" in out


def test_spec_that_is_not_utf8(tmp_path, files):
    files["spec"].write_bytes(SPEC.encode() + b"population: caf\xe9\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert f"{files['spec']}:6: byte 0xe9" in out and "is not UTF-8" in out


def test_spec_of_binary_garbage(tmp_path, files):
    files["spec"].write_bytes(b"\x00\x01\x02garbage\x00")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert f"{files['spec']}:1:" in out


def test_spec_with_a_duplicate_key(tmp_path, files):
    files["spec"].write_text(SPEC + "rules:\n  min_frequency: 12\n  min_frequency: 10\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert (
        f"{files['spec']}:8: rules.min_frequency: duplicate key 'min_frequency' (first on line 7)"
        in out
    )


def test_spec_alias_bomb_is_refused_quickly(tmp_path, files):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    files["spec"].write_text(SPEC + "\n".join(lines) + "\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert (
        "more than 100,000 values (counting each use of an alias)" in out
        and str(files["spec"]) in out
    )


def test_spec_nested_too_deeply(tmp_path, files):
    files["spec"].write_text(SPEC + "x: " + "[" * 100_000 + "]" * 100_000 + "\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert str(files["spec"]) in out


def test_history_that_is_a_file(tmp_path, files):
    hist = tmp_path / "history.txt"
    hist.write_text("not a directory\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"], "--history", hist)
    assert f"{hist}: is a file, not a release history directory" in out


def test_table_too_large_is_refused_before_allocating(tmp_path, files):
    codes = [f"c{i}" for i in range(40)]
    dims = "".join(f"  - column: d{k}\n    codes: [{', '.join(codes)}]\n" for k in range(6))
    files["spec"].write_text(f"name: huge\ndimensions:\n{dims}person_id: person\n")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"d{k}": rng.choice(codes, 50) for k in range(6)})
    frame["person"] = np.arange(50)
    data = tmp_path / "wide.csv"
    frame.to_csv(data, index=False)
    out = _protect(tmp_path, data, "--spec", files["spec"])
    assert f"{data}: the table would have 4,750,104,241 cells" in out


def test_header_without_rows_is_refused(tmp_path, files):
    empty = tmp_path / "empty.csv"
    empty.write_text("person,region,sector\n")
    out = _protect(tmp_path, empty, "--spec", files["spec"])
    assert f"{empty}: the table has no rows" in out


def test_missing_column_is_named(tmp_path, files):
    files["spec"].write_text(SPEC.replace("sector", "branch"))
    out = _protect(tmp_path, files["data"], "--spec", files["spec"])
    assert f"{files['data']}: missing column(s) ['branch']" in out


def test_out_on_an_unrelated_directory_is_refused_and_kept(tmp_path, files):
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.txt").write_text("three years of work\n")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"], "--out", mine)
    assert f"{mine}: an existing directory that is not a `tables protect` output" in out


def test_out_holding_the_input_is_refused(tmp_path, files):
    out = _protect(tmp_path, files["data"], "--spec", files["spec"], "--out", tmp_path)
    assert f"{tmp_path}: --out holds the input" in out


def test_out_naming_a_file_is_refused_and_not_moved(tmp_path, files):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 precious")
    out = _protect(tmp_path, files["data"], "--spec", files["spec"], "--out", target)
    assert f"{target}: --out must name a directory" in out


def test_a_previous_output_is_replaced(tmp_path, files):
    out = tmp_path / "out"
    args = ["tables", "protect", str(files["data"]), "--spec", str(files["spec"]), "--out"]
    first = CliRunner().invoke(app, [*args, str(out)])
    assert first.exit_code == 0, first.output
    (out / "public" / "stale.csv").write_text("x\n")
    again = CliRunner().invoke(app, [*args, str(out)])
    assert again.exit_code == 0, again.output
    assert not (out / "public" / "stale.csv").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == []
