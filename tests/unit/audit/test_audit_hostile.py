"""A log damaged in ways a JSON parser trips over (not only lines it rejects): every command
still fails closed with one located line, `verify` names the line and `repair` moves a bad last
line out."""

from __future__ import annotations

import pytest

CHECK = ("deliberation", "check", "deliberations/26-104.yaml")
NESTED = b"[" * 100_000 + b"]" * 100_000 + b"\n"


def _lines(home) -> list[bytes]:
    return home.log.read_bytes().splitlines(keepends=True)


def test_a_deeply_nested_last_line_stops_every_command_and_is_repaired(home):
    n = len(_lines(home))
    with open(home.log, "ab") as fh:
        fh.write(NESTED)
    code, out = home.kluis(*CHECK)
    assert code == 1 and out.count("\n") == 1
    assert f"audit.jsonl:{n + 1}:" in out and "nested too deeply" in out
    code, out = home.kluis("audit", "verify")
    assert code == 1 and f"audit.jsonl:{n + 1}:" in out
    code, out = home.kluis("audit", "show")
    assert code == 1 and f"audit.jsonl:{n + 1}:" in out
    code, out = home.kluis("audit", "repair")
    assert code == 0, out
    code, out = home.kluis("audit", "verify")
    assert code == 0, out


@pytest.mark.parametrize("command", [("audit", "verify"), ("audit", "show")])
def test_a_deeply_nested_line_inside_the_log_is_named(home, command):
    lines = _lines(home)
    home.log.write_bytes(lines[0] + NESTED + b"".join(lines[1:]))
    code, out = home.kluis(*command)
    assert code == 1 and "audit.jsonl:2:" in out
