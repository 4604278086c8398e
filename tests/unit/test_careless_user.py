"""Every command as a careless user types it: a missing file, a directory where a file is
expected (or the reverse), garbage bytes, an empty file, a wrong type. Each answer is one located
line on stderr with the exit code of its kind (2 bad input or usage, 1 checked and refused), no
traceback, and nothing written where the command was pointed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "deliberations"


@pytest.fixture
def junk(tmp_path: Path) -> dict[str, Path]:
    """A missing path, an empty file, a garbage file, a text file and a directory with a
    document in it."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "notes.txt").write_text("my notes\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work\n")
    return {
        "missing": tmp_path / "missing",
        "empty": tmp_path / "empty.txt",
        "garbage": tmp_path / "garbage.bin",
        "file": tmp_path / "notes.txt",
        "folder": folder,
    }


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _answer(argv: list[str], code: int, expected: str, root: Path) -> None:
    before = _snapshot(root)
    result = runner.invoke(app, argv)
    assert result.exit_code == code, (argv, result.output)
    assert expected in result.stderr, (argv, result.stderr)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), argv
    assert _snapshot(root) == before, argv  # nothing written, moved or deleted


WAREHOUSE_CASES = [
    (["warehouse", "validate", "{missing}"], 2, "is not a directory"),
    (["warehouse", "validate", "{file}"], 2, "is not a directory"),
    (["warehouse", "validate", "{folder}"], 1, "error(s); see the report"),
    (["warehouse", "profile", "{missing}"], 2, "warehouse.json: not found"),
    (["warehouse", "profile", "{folder}"], 2, "warehouse.json: not found"),
    (["warehouse", "generate", "--out", "{file}", "--persons", "300"], 2, "not a kluis warehouse"),
    (["warehouse", "generate", "--out", "{folder}"], 2, "not a kluis warehouse"),
    (["warehouse", "generate", "--out", "{missing}", "--persons", "10"], 2, "at least 200"),
    (["warehouse", "generate", "--out", "{missing}", "--years", "1990-2000"], 2, "2003-2026"),
    (["warehouse", "generate", "--out", "{missing}", "--years", "soon"], 2, "YYYY-YYYY"),
    (["warehouse", "generate", "--out", "{missing}", "--persons", "many"], 2, "--persons"),
    (["warehouse", "nbb-list", "--warehouse", "{garbage}", "--out", "{missing}"], 2, "not found"),
]

DELIBERATION_CASES = [
    (["deliberation", "check", "{missing}"], 2, "No such file or directory"),
    (["deliberation", "check", "{folder}"], 2, "is a directory, not a file"),
    (["deliberation", "check", "{garbage}"], 2, ":1: a NUL byte"),
    (["deliberation", "check", "{empty}"], 2, ":1: a deliberation file must be a YAML mapping"),
    (["deliberation", "check", "{file}"], 2, ":1: a deliberation file must be a YAML mapping"),
    (["deliberation", "show", "{garbage}"], 2, ":1: a NUL byte"),
    (["deliberation", "show", str(SHIPPED / "26-104.yaml"), "--today", "soon"], 2, "--today"),
    (["deliberation", "register", "{garbage}", "--deliberations", "{missing}"], 2, "NUL byte"),
    (
        ["deliberation", "register", str(SHIPPED / "26-104.yaml"), "--deliberations", "{file}"],
        2,
        "is not a directory",
    ),
]

KEYS_CASES = [
    (["keys", "create", "{garbage}.yaml"], 2, "No such file"),
    (["keys", "create", "26/104", "--keystore", "{file}"], 2, "is not a directory"),
    (["keys", "show", "26/104", "--keystore", "{folder}"], 2, "no key for deliberation 26-104"),
    (["keys", "show", "tomorrow", "--keystore", "{folder}"], 2, "not a deliberation number"),
    (["keys", "destroy", "26/104", "--keystore", "{folder}", "--yes"], 2, "no key"),
]


def _extract_cases() -> list[tuple[list[str], int, str]]:
    d26 = str(SHIPPED / "26-104.yaml")
    base = ["extract", d26, "--phase", "full", "--today", "2026-11-22"]
    return [
        ([*base, "--warehouse", "{missing}", "--out", "{missing}"], 2, "no key for deliberation"),
        (
            ["extract", "{garbage}", "--warehouse", "{folder}", "--phase", "full", "--out", "x"],
            2,
            ":1: a NUL byte",
        ),
        (
            ["extract", "{folder}", "--warehouse", "{folder}", "--phase", "full", "--out", "x"],
            2,
            "is a directory, not a file",
        ),
        (["extract", d26, "--warehouse", "{folder}", "--phase", "full"], 2, "--out"),
    ]


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    WAREHOUSE_CASES + DELIBERATION_CASES + KEYS_CASES + _extract_cases(),
    ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None,
)
def test_careless_user(junk, tmp_path, argv, code, expected):
    filled = [a.format(**{k: str(v) for k, v in junk.items()}) for a in argv]
    _answer(filled, code, expected, tmp_path)


def test_extract_with_a_real_warehouse_and_careless_keys_and_lists(
    tiny_warehouse, seed_keys, junk, tmp_path
):
    d24 = str(SHIPPED / "24-074.yaml")
    base = ["extract", d24, "--warehouse", str(tiny_warehouse), "--phase", "full"]
    base += ["--today", "2026-11-22", "--out", str(tmp_path / "out")]
    _answer([*base, "--keystore", str(junk["file"])], 2, "is not a directory", tmp_path)
    keys = ["--keystore", str(seed_keys)]
    for name in ("missing", "file", "folder"):
        wh = [*base[:2], "--warehouse", str(junk[name]), *base[4:], *keys]
        _answer(wh, 2, "warehouse.json: not found", tmp_path)
    _answer([*base, *keys], 2, "give it with --enterprises FILE", tmp_path)
    for name, expected in (
        ("missing", "No such file or directory"),
        ("folder", "is a directory, not a file"),
        ("garbage", "line 1: a NUL byte"),
        ("empty", "empty file: expected a header"),
        ("file", "header must be exactly kbo_number,rsz_number,group"),
    ):
        _answer([*base, *keys, "--enterprises", str(junk[name])], 2, expected, tmp_path)
    d26 = ["--enterprises", str(junk["file"]), "--today", "2026-11-22"]
    argv = ["extract", str(SHIPPED / "26-104.yaml"), "--warehouse", str(tiny_warehouse)]
    argv += ["--phase", "full", "--out", str(tmp_path / "out"), *keys, *d26]
    _answer(argv, 2, "takes no input list (enterprises)", tmp_path)
    _answer([*argv[:-4], "--today", "2040-01-01"], 1, "is not in force", tmp_path)


def test_unknown_command_and_missing_arguments_are_usage_errors():
    for argv in (["nonsense"], ["extract"], ["warehouse", "generate"], ["deliberation"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, argv
        assert "Traceback" not in result.output
