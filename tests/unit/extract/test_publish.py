"""Atomic publish: nothing half-written, previous extracts replaced in one step, verifiable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from kluis import atomic
from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery.publish import PublishError, verify, write_extract

INFO = {
    "deliberation": "26/104",
    "deliberation_slug": "26-104",
    "title": "T",
    "recipient": "R",
    "retention": "2032-12-31",
    "phase": "full",
    "phase_description": "all",
    "warehouse_id": "wh-x",
    "key_fingerprint": "abcd",
    "engine": "duckdb",
}
CTX = SimpleNamespace(engine=None, progress=lambda message: None, attachments={})


def _table(n: int = 5, value: int = 0) -> OutputTable:
    cols = (ColumnMeta("person_id", "pseudonym"), ColumnMeta("x", "integer", "X"))
    years = {
        y: pa.table(
            {
                "person_id": pa.array(range(n, 0, -1), pa.int64()),
                "x": pa.array([value + y] * n, pa.int64()),
            }
        )
        for y in (2024, 2025)
    }
    return OutputTable("t", cols, years, ("person_id",), description="test table")


def test_publish_writes_layout_manifest_and_sorted_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    published = write_extract(CTX, [_table()], out, info=INFO)
    assert (out / "t" / "year=2024" / "part-0.parquet").is_file()
    assert {"datapackage.json", "codebook.md", "manifest.json"} <= {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == {"t": {"2024": 5, "2025": 5}}
    assert manifest == published.manifest
    assert verify(out) == []
    import pyarrow.parquet as pq

    assert pq.read_table(out / "t/year=2025/part-0.parquet").column("person_id").to_pylist() == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_verify_reports_altered_missing_and_extra_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_extract(CTX, [_table()], out, info=INFO)
    (out / "codebook.md").write_text("changed")
    (out / "t/year=2024/part-0.parquet").unlink()
    (out / "extra.txt").write_text("x")
    problems = verify(out)
    assert "altered file codebook.md" in problems
    assert "missing file t/year=2024/part-0.parquet" in problems
    assert "unlisted file extra.txt" in problems


def test_failure_while_writing_leaves_no_output_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    table = _table()
    table.years[2025] = pa.table(
        {"person_id": pa.array([1], pa.int64()), "x": pa.array(["not a number"])}
    )
    with pytest.raises(pa.ArrowInvalid):
        write_extract(CTX, [table], out, info=INFO)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_extract_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_extract(CTX, [_table(value=1)], out, info=INFO)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = _table(value=2)
    bad.years[2025] = pa.table({"person_id": pa.array([1], pa.int64()), "x": pa.array(["?"])})
    with pytest.raises(pa.ArrowInvalid):
        write_extract(CTX, [bad], out, info=INFO)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_rerun_replaces_previous_extract_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_extract(CTX, [_table(value=1)], out, info=INFO)
    inode = out.stat().st_ino
    write_extract(CTX, [_table(value=2)], out, info=INFO)
    assert verify(out) == []
    assert out.stat().st_ino != inode  # a new directory was swapped in
    import pyarrow.parquet as pq

    assert pq.read_table(out / "t/year=2024/part-0.parquet").column("x")[0].as_py() == 2026
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_extract(CTX, [_table()], a, info=INFO)
    write_extract(CTX, [_table()], b, info=INFO)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_refuses_to_replace_a_directory_that_is_not_an_extract(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(PublishError, match="not a kluis extract"):
        write_extract(CTX, [_table()], out, info=INFO)
    assert (out / "thesis.docx").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(PublishError, match="not a directory"):
        write_extract(CTX, [_table()], tmp_path / "file", info=INFO)


def test_stale_temporaries_of_dead_runs_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = tmp_path / ".out.tmp-999999999-abcd1234"  # no such process
    dead.mkdir()
    (dead / "half.parquet").write_text("x")
    mine = tmp_path / f".out.tmp-{os.getppid()}-abcd1234"  # a live process: left alone
    mine.mkdir()
    write_extract(CTX, [_table()], out, info=INFO)
    assert not dead.exists() and mine.exists()


def test_swap_without_renameat2_still_publishes(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    write_extract(CTX, [_table(value=1)], out, info=INFO)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    write_extract(CTX, [_table(value=3)], out, info=INFO)
    assert verify(out) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="unknown format"):
        write_extract(CTX, [_table()], tmp_path / "o", info=INFO, formats=("xlsx",))


def test_builder_attachments_are_published_and_listed(tmp_path: Path) -> None:
    ctx = SimpleNamespace(engine=None, progress=lambda m: None, attachments={"report.md": "r"})
    write_extract(ctx, [_table()], tmp_path / "out", info=INFO)
    assert (tmp_path / "out/report.md").read_text() == "r"
    assert "report.md" in json.loads((tmp_path / "out/manifest.json").read_text())["files"]
    bad = SimpleNamespace(engine=None, progress=lambda m: None, attachments={"../x": "r"})
    with pytest.raises(PublishError, match="not allowed"):
        write_extract(bad, [_table()], tmp_path / "out2", info=INFO)
