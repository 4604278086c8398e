"""Hostile and careless deliberation files through the CLI: a located one-line error, exit 2,
no traceback, and quickly (the alias bomb took 69 s and 3.3 GB before)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[3] / "deliberations"


def _bomb() -> bytes:
    text = "a0: &a0 [" + ", ".join(['"lol"'] * 9) + "]\n"
    for i in range(1, 10):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    return text.encode()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


CASES = {
    "non-utf8": (b"number: 26/104\ntitle: caf\xe9\n", ":2: byte 0xe9 at column 11 is not UTF-8"),
    "binary": (bytes(range(256)) * 4, ":1: a NUL byte at column 1"),
    "alias-bomb": (_bomb(), "values (counting each use of an alias)"),
    "nested": (b"number: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", ":1: nested more than"),
    "long-scalar": (b"number: 26/104\ntitle: " + b"x" * 300_000 + b"\n", ":2: a value of 300,000"),
    "duplicate-key": (
        (SHIPPED / "24-074.yaml").read_bytes() + b"retention: 2040-12-31\n",
        "duplicate key 'retention'",
    ),
    "empty": (b"", ":1: a deliberation file must be a YAML mapping"),
    "a-list": (b"- 1\n- 2\n", ":1: a deliberation file must be a YAML mapping"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_refuses_hostile_files_with_their_line(tmp_path: Path, case: str):
    data, expected = CASES[case]
    assert len(_bomb()) < 700
    path = _write(tmp_path, f"{case}.yaml", data)
    start = time.perf_counter()
    result = runner.invoke(app, ["deliberation", "check", str(path)])
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2, result.output
    assert f"error: {path}" in result.stderr and expected in result.stderr
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )


def test_a_50_mb_file_is_refused_from_its_size(tmp_path: Path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.write(b"number: 26/104\ntitle: ")
        fh.truncate(50 * 2**20)
    start = time.perf_counter()
    result = runner.invoke(app, ["deliberation", "check", str(path)])
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2
    assert f"{path}: 52,428,800 bytes: kluis reads at most 1,048,576 bytes" in result.stderr


@pytest.mark.parametrize("command", [["deliberation", "show"], ["keys", "create"]])
def test_other_commands_reading_a_deliberation_refuse_the_bomb(tmp_path: Path, command):
    path = _write(tmp_path, "bomb.yaml", _bomb())
    start = time.perf_counter()
    result = runner.invoke(
        app,
        [
            *command,
            str(path),
            *(["--keystore", str(tmp_path / "k")])[: 2 if command[0] == "keys" else 0],
        ],
    )
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2
    assert str(path) in result.stderr and "counting each use of an alias" in result.stderr
    assert not (tmp_path / "k").exists()  # nothing written


def test_careless_paths(tmp_path: Path):
    for target, expected in (
        (tmp_path, "is a directory, not a file"),
        (tmp_path / "absent.yaml", "No such file or directory"),
        (Path("/dev/zero"), "not a regular file"),
    ):
        result = runner.invoke(app, ["deliberation", "check", str(target)])
        assert result.exit_code == 2 and expected in result.stderr, target


def test_check_reports_every_file_and_the_valid_ones_on_stdout(tmp_path: Path):
    bad = _write(tmp_path, "bad.yaml", b"number: [\n")
    result = runner.invoke(app, ["deliberation", "check", str(SHIPPED / "24-074.yaml"), str(bad)])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"OK {SHIPPED / '24-074.yaml'}: deliberation 24/074")
    assert f"{bad}:" in result.stderr and "1 problem(s) in 1 of 2 file(s)" in result.stderr
