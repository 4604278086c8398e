"""`kluis extract` reports its real steps, and its progress never outlives the run.

The run counts its steps (the builder's, then tables × years × formats, describing, publishing)
so a bar can show done / total; on stderr, transient: when stderr is a file or a pipe nothing of
it is left there, and an error is the one line printed; results go to stdout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.extract.progress import Steps, expect, steps
from kluis.extract.run import run_extract
from kluis.pseudonym import KeyStore
from tests.spec.tinywh import small_deliberation

YEARS = (2025, 2026)
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def setup(small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("progress")
    delib = small_deliberation(base / "delib", YEARS, persons_per_year=200)
    KeyStore(base / "ks").create("26/104")
    return {"base": base, "delib": delib, "ks": base / "ks", "wh": small_warehouse}


def test_steps_count_what_was_announced_and_started() -> None:
    seen: list[tuple[str, int, int]] = []
    s = Steps(lambda message, done, total: seen.append((message, done, total)))
    expect(s, 2)
    s("one")
    s("two")
    s("three")  # more steps than announced: the total follows
    assert seen == [("", 0, 2), ("one", 1, 2), ("two", 2, 2), ("three", 3, 3)]
    plain: list[str] = []
    wrapped = steps(plain.append)  # a plain callback gets the messages only
    expect(wrapped, 5)
    wrapped("hello")
    assert plain == ["hello"]


def test_a_run_reports_every_step_it_announced(setup: dict, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    run_extract(
        setup["delib"],
        setup["wh"],
        "development",
        tmp_path / "out",
        formats=("parquet", "sav", "dta"),
        keystore=setup["ks"],
        today=TODAY,
        registry={},
        progress=Steps(lambda message, done, total: seen.append((message, done, total))),
    )
    done = [d for _m, d, _t in seen]
    assert done == sorted(done) and done[-1] == seen[-1][2]  # ends at the announced total
    assert max(t for _m, _d, t in seen) == seen[-1][2]  # and the total never overshot
    writing = [m for m, _d, _t in seen if m.startswith("writing ")]
    # 2 tables × 2 years × (Parquet, SPSS, Stata), each once and in year order
    assert len(writing) == len(set(writing)) == 12
    assert writing[0] == "writing table1_next 2025" and writing[-1].endswith("2026 for Stata")
    assert seen[-1][0] == "publishing"


def test_cli_progress_leaves_nothing_on_stderr(setup: dict, tmp_path: Path) -> None:
    common = [
        "extract",
        str(setup["delib"]),
        "--keystore",
        str(setup["ks"]),
        "--phase",
        "development",
        "--today",
        "2026-11-22",
    ]
    ok = CliRunner().invoke(
        app, [*common, "--warehouse", str(setup["wh"]), "--out", str(tmp_path / "o")]
    )
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("published ") and "table1_next: 2025: " in ok.stdout
    assert ok.stderr == ""  # no bar, spinner or step left behind
    bad = CliRunner().invoke(
        app, [*common, "--warehouse", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p")]
    )
    assert bad.exit_code != 0
    assert bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere" in lines[0] and lines[0].startswith("error")


def test_phase_and_engine_are_choices_in_help() -> None:
    r = CliRunner().invoke(app, ["extract", "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert "development|full" in r.stdout and "duckdb|spark" in r.stdout
    bad = CliRunner().invoke(app, ["extract", "x.yaml", "--phase", "trial"])
    assert bad.exit_code == 2 and "trial" in bad.stderr
