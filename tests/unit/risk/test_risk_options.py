"""`kluis risk` options a careless user types: refused as usage errors naming the option,
before DuckDB sees them (they were tracebacks from the engine)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kluis.cli import app


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--threads", "0"),
        ("--threads", "-2"),
        ("--memory-limit", "lots"),
        ("--memory-limit", "1KB"),
    ],
)
def test_bad_engine_options_are_usage_errors(tmp_path, option, value):
    table = tmp_path / "t.csv"
    table.write_text("age,sex\n30,1\n31,2\n")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["risk", str(table), "--out", str(out), "--keys", "age,sex", option, value]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert option in result.output
    assert not out.exists()
