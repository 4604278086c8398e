"""`kluis extract` with bad input and faults, through the CLI: the exit code (2 bad input,
1 checked and refused), a message naming the file and line / row / column, no traceback, and
nothing written or moved beside --out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.home import catalogue_dir

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[3] / "deliberations"
TODAY = "2026-11-22"
PERSON_YEAR_2022 = "person_year/year=2022/part-0.parquet"


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _catalogue() -> list[str]:
    return _listing(catalogue_dir())


def _extract(
    warehouse: Path, keys: Path, out: Path, *extra: str, deliberation: str = "26-104"
) -> list[str]:
    return [
        "extract",
        str(SHIPPED / f"{deliberation}.yaml"),
        "--warehouse",
        str(warehouse),
        "--keystore",
        str(keys),
        "--out",
        str(out),
        "--today",
        TODAY,
        *extra,
    ]


def _refused(argv: list[str], out: Path, code: int) -> str:
    """Run; check the exit code, that no traceback was shown and that nothing was written
    beside OUT or in the catalogue. Returns stderr."""
    before, catalogued = _listing(out.parent), _catalogue()
    result = runner.invoke(app, argv)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _listing(out.parent) == before  # no OUT, no temporary, no lock file
    assert _catalogue() == catalogued
    assert result.stdout == ""  # results only on success; the error is on stderr
    return result.stderr


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--memory-limit", "lots"], "'lots' is not a memory size"),
        (["--memory-limit", "1MB"], "too little memory"),
        (["--threads", "0"], "--threads"),
        (["--phase", "both"], "'both' is not one of"),  # a choice: development, full
        (["--format", "parquet,xlsx"], "xlsx"),
        (["--today", "22/11/2026"], "is not a date"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, tiny_warehouse, seed_keys, option, expected):
    out = tmp_path / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "development", *option)
    if option[0] == "--phase":
        argv.remove("development")
        argv.remove("--phase")
    err = _refused(argv, out, 2)
    assert expected in err


def _truncate(src: Path, dst: Path) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])


def _province_as_numbers(src: Path, dst: Path) -> None:
    t = pq.read_table(src)
    i = t.schema.get_field_index("province")
    pq.write_table(t.set_column(i, "province", pa.array(range(t.num_rows))), dst)


def _one_person_twice(src: Path, dst: Path) -> None:
    t = pq.read_table(src)
    pq.write_table(pa.concat_tables([t, t.slice(4, 1)]), dst)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_truncate, "cannot read this Parquet file (truncated or corrupt?)"),
        (_province_as_numbers, "column province is stored as int64, declared string"),
        (_one_person_twice, "row 5 (and 1 more): 1 key value(s) of (insz, year) occur"),
    ],
    ids=["truncated", "wrong-type", "duplicate-person-year"],
)
def test_a_damaged_warehouse_is_refused_before_anything_is_built(
    tmp_path, warehouse_copy, seed_keys, change, expected
):
    wh = warehouse_copy(PERSON_YEAR_2022, change)
    out = tmp_path / "extracts" / "out"
    out.parent.mkdir()
    err = _refused(_extract(wh, seed_keys, out, "--phase", "development"), out, 2)
    assert f"{wh / PERSON_YEAR_2022}" in err and expected in err
    assert f"kluis warehouse validate {wh}" in err


def test_a_damaged_year_outside_the_deliberation_does_not_matter(
    tmp_path, warehouse_copy, seed_keys, tiny_nbb_list
):
    """24/074 reads 2017-2021 here (and 2022, its T+1): a broken 2026 file is not read and does
    not stop it; 26/104 reads 2019-2026 and is stopped, naming the file."""
    rel = "person_year/year=2026/part-0.parquet"
    wh = warehouse_copy(rel, _truncate)
    out = tmp_path / "out"
    err = _refused(_extract(wh, seed_keys, out, "--phase", "full"), out, 2)
    assert str(wh / rel) in err
    argv = _extract(wh, seed_keys, out, "--phase", "full", deliberation="24-074")
    done = runner.invoke(app, [*argv, "--enterprises", str(tiny_nbb_list)])
    assert done.exit_code == 0, done.output


def test_registry_missing_broken_or_ending_the_deliberation(tmp_path, tiny_warehouse, seed_keys):
    out = tmp_path / "out"
    common = _extract(tiny_warehouse, seed_keys, out, "--phase", "development")
    missing = tmp_path / "no-registry"
    err = _refused([*common, "--deliberations", str(missing)], out, 2)
    assert f"deliberation registry {missing} does not exist" in err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "27-001.yaml").write_bytes(b"number: 27/001\nnumber: 27/002\n")
    err = _refused([*common, "--deliberations", str(broken)], out, 2)
    assert f"{broken / '27-001.yaml'}:2: number: duplicate key 'number'" in err

    ender = tmp_path / "ender"
    ender.mkdir()
    text = (SHIPPED / "26-104.yaml").read_text(encoding="utf-8")
    text = text.replace("number: 26/104", "number: 27/001").replace(
        'ends: ["24/130"]', 'ends: ["26/104"]'
    )
    text = text.replace("effective: 2026-06-17", "effective: 2026-10-01")
    (ender / "27-001.yaml").write_text(text, encoding="utf-8")
    err = _refused([*common, "--deliberations", str(ender)], out, 1)
    assert "deliberation 26/104 is not in force" in err and "ended by deliberation 27/001" in err


def test_registry_from_the_environment(tmp_path, tiny_warehouse, seed_keys, monkeypatch):
    """$KLUIS_DELIBERATIONS names the registry for every command, like --deliberations."""
    out = tmp_path / "out"
    monkeypatch.setenv("KLUIS_DELIBERATIONS", str(tmp_path / "nowhere"))
    err = _refused(_extract(tiny_warehouse, seed_keys, out, "--phase", "full"), out, 2)
    assert f"deliberation registry {tmp_path / 'nowhere'} does not exist" in err


def test_hostile_deliberation_is_refused_by_extract(tmp_path, tiny_warehouse, seed_keys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"number: 26/104\ntitle: \xff\xfe\n")
    out = tmp_path / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full")
    argv[1] = str(bad)
    err = _refused(argv, out, 2)
    assert f"{bad}:2: byte 0xff" in err


def test_out_that_is_a_file_or_foreign_directory(tmp_path, tiny_warehouse, seed_keys):
    out = tmp_path / "out.txt"
    out.write_text("mine")
    err = _refused(_extract(tiny_warehouse, seed_keys, out, "--phase", "full"), out, 2)
    assert f"{out} exists and is not a directory" in err and out.read_text() == "mine"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("years of work")
    err = _refused(_extract(tiny_warehouse, seed_keys, docs, "--phase", "full"), docs, 2)
    assert "is not a kluis extract" in err and (docs / "thesis.txt").exists()


def test_enterprise_list_without_rows_or_without_known_enterprises(
    tmp_path, tiny_warehouse, seed_keys
):
    """A header and no rows is bad input (2): the file holds no list. A list none of whose
    enterprises the warehouse knows was read and checked, and is refused (1): publishing an
    empty extract would say these firms had no staff."""
    out = tmp_path / "out"
    empty = tmp_path / "empty.csv"
    empty.write_text("kbo_number,rsz_number,group\n")
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full", deliberation="24-074")
    err = _refused([*argv, "--enterprises", str(empty)], out, 2)
    assert f"{empty}: line 1: the list has a header and no enterprises" in err

    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        "kbo_number,rsz_number,group\n0123456749,999999130,control\n0123456848,999999229,control\n"
    )
    err = _refused([*argv, "--enterprises", str(unknown)], out, 1)
    assert f"{unknown}: none of its 2 enterprise(s) is known to the warehouse (lines 2, 3)" in err

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"kbo_number,rsz_number,group\n\x00\x01")
    err = _refused([*argv, "--enterprises", str(binary)], out, 2)
    assert f"{binary}: line 2: a NUL byte" in err


def test_an_extract_of_another_phase_or_deliberation_is_not_replaced(
    tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list
):
    out = tmp_path / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full", deliberation="24-074")
    argv += ["--enterprises", str(tiny_nbb_list)]
    first = runner.invoke(app, argv)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"published {out}")
    manifest = (out / "manifest.json").read_bytes()
    dev = [a if a != "full" else "development" for a in argv]
    err = _refused(dev, out, 1)
    assert f"{out} holds the full extract of deliberation 24/074" in err
    assert "refusing to replace it with the development extract" in err
    other = _extract(tiny_warehouse, seed_keys, out, "--phase", "full")
    err = _refused(other, out, 1)
    assert "refusing to replace it with the full extract of 26/104" in err
    assert (out / "manifest.json").read_bytes() == manifest
    again = runner.invoke(app, argv)  # the same deliberation and phase: a rerun replaces it
    assert again.exit_code == 0 and (out / "manifest.json").read_bytes() == manifest
    # no lock file, no temporary left: the extract and its audit receipt (kluis.audit.heads)
    assert _listing(tmp_path) == ["out", "out.audit-head.json"]
    # this run's record (other tests of the same process catalogue extracts of their own)
    records = [json.loads(f.read_text()) for f in catalogue_dir().glob("extract-*.json")]
    (record,) = [r for r in records if r["path"] == str(out)]
    assert record["details"]["state"] == "published"


def _subprocess_extract(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kluis.cli", *argv], capture_output=True, text=True, **kwargs
    )


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _in_sandbox(binds: list[str], argv: list[str], after: str) -> subprocess.CompletedProcess:
    """Run `kluis ARGV` and then the shell command `after` in a bubblewrap sandbox that sees the
    whole machine, with `binds` changed (a read-only directory, a small tmpfs): the kernel, not
    a mock, refuses the writes."""
    kluis = " ".join(
        f"'{a}'" for a in [sys.executable, "-m", "kluis.cli", *argv]
    )  # paths without quotes in them (tmp_path)
    script = f'{kluis}; echo "rc=$?"; {after}'
    return subprocess.run(
        ["bwrap", "--dev-bind", "/", "/", *binds, "sh", "-c", script],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )


@needs_bwrap
def test_out_parent_not_writable(tmp_path, tiny_warehouse, seed_keys):
    parent = tmp_path / "readonly"
    parent.mkdir()
    out = parent / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full")
    done = _in_sandbox(["--ro-bind", str(parent), str(parent)], argv, f"ls -A '{parent}'")
    assert "rc=2" in done.stdout, done.stderr
    assert f"extract into {out} failed" in done.stderr and "Read-only file system" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip().endswith("rc=2")  # nothing listed in the directory
    assert _listing(parent) == []


@needs_bwrap
@pytest.mark.parametrize("kib", [64, 160])
def test_disk_full(tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list, kib):
    """--out on a small file system: the extract fails when the disk is full (while writing
    Parquet, or later the SPSS/Stata files), says so, and leaves nothing there."""
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full", deliberation="24-074")
    argv += ["--enterprises", str(tiny_nbb_list), "--format", "parquet,sav,dta"]
    done = _in_sandbox(["--size", str(kib * 1024), "--tmpfs", str(disk)], argv, f"ls -A '{disk}'")
    assert "rc=2" in done.stdout, done.stderr
    assert "No space left on device" in done.stderr or "is the disk full?" in done.stderr
    assert "nothing was published" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout.strip().endswith("rc=2"), done.stdout  # the disk is empty again


def test_file_size_limit(tmp_path_factory, tmp_path, tiny_warehouse, seed_keys, tiny_nbb_list):
    """The same fault from the file size limit (RLIMIT_FSIZE: the kernel refuses to let a file
    grow past 2 kB), without a sandbox. The run gets an audit log of its own: the shared one
    is already larger than that."""
    import resource

    out = tmp_path / "out"
    argv = _extract(tiny_warehouse, seed_keys, out, "--phase", "full", deliberation="24-074")
    argv += ["--enterprises", str(tiny_nbb_list)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000))

    log = tmp_path_factory.mktemp("log") / "audit.jsonl"
    env = os.environ | {"KLUIS_AUDIT_LOG": str(log)}
    done = _subprocess_extract(argv, preexec_fn=limit, env=env)
    assert done.returncode == 2, done.stderr
    assert f"extract into {out} failed" in done.stderr and "File too large" in done.stderr
    assert "Traceback" not in done.stderr
    assert _listing(tmp_path) == []
