"""The log as the command line writes and reads it: outcomes, refusals, damage, show."""

from __future__ import annotations

import json

import pytest

from kluis.access import Users, current_account
from kluis.audit import AuditLog, headfile

CHECK = ("deliberation", "check", "deliberations/26-104.yaml")


def _records(home) -> list[dict]:
    return list(AuditLog(home.log).entries())


def test_each_command_is_recorded_with_its_outcome(home):
    before = len(_records(home))
    home.kluis(*CHECK)
    failed, _ = home.kluis("users", "remove", "nobody")
    new = _records(home)[before:]
    starts = [r for r in new if r["event"] == "start"]
    ends = [r for r in new if r["event"] == "end"]
    assert [r["details"]["argv"] for r in starts] == [list(CHECK), ["users", "remove", "nobody"]]
    assert [r["action"] for r in ends] == ["deliberation check", "users remove"]
    assert ends[0]["details"]["exit_code"] == 0 and ends[0]["details"]["error"] is None
    assert failed == 2 and ends[1]["details"]["exit_code"] == 2
    assert ends[1]["details"]["error"] == "UsersError"
    assert "no user 'nobody'" in ends[1]["details"]["message"]
    assert ends[1]["details"]["started"] == starts[1]["seq"]
    assert {r["actor"] for r in new} == {current_account()}
    assert {r["role"] for r in new} == {"steward"}
    # the steward's commands end with a signed checkpoint
    assert [r["event"] for r in new].count("checkpoint") == 2


def test_help_is_never_recorded(home):
    before = home.log.read_bytes()
    for argv in (["--help"], ["keys", "--help"], ["keys", "create", "--help"], ["keys"]):
        home.kluis(*argv)
    assert home.log.read_bytes() == before


def test_usage_errors_are_recorded(home):
    code, _ = home.kluis("keys", "create")
    assert code == 2
    last_end = [r for r in _records(home) if r["event"] == "end"][-1]
    assert last_end["details"]["error"] == "MissingParameter"
    assert last_end["details"]["argv"] == ["keys", "create"]


def test_a_refusal_is_recorded(home, tmp_path, monkeypatch):
    users = tmp_path / "researchers.yaml"
    Users(users).add("rita", "researcher", "pw", account=current_account())
    Users(users).add("sam", "steward", "pw", account="someone-else")
    monkeypatch.setenv("KLUIS_USERS", str(users))
    code, out = home.kluis("keys", "create", "26/104")
    assert code == 3 and "rita (researcher) may not run `kluis keys create`" in out
    end = [r for r in _records(home) if r["event"] == "end"][-1]
    assert (end["actor"], end["role"], end["action"]) == ("rita", "researcher", "keys create")
    assert end["details"]["exit_code"] == 3 and end["details"]["error"] == "NotPermitted"


def _tear(home):
    with open(home.log, "ab") as fh:
        fh.write(b'{"seq": 99, "act')


def _garbage(home):
    with open(home.log, "ab") as fh:
        fh.write(b"\x00\x01 not a record\n")


def _directory(home):
    home.log.unlink()
    home.log.mkdir()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_tear, "the last line is incomplete (a torn write)"),
        (_garbage, "the last line is not an audit record"),
        (_directory, "is a directory"),
    ],
)
def test_a_damaged_log_stops_every_command_with_one_clear_line(home, damage, says):
    lines = len(_records(home))
    damage(home)
    code, out = home.kluis(*CHECK)
    assert code == 1
    assert out.count("\n") == 1 and out.startswith("error: audit log ")
    assert says in out
    if damage is not _directory:
        assert f"audit.jsonl:{lines + 1}:" in out
        assert "kluis audit repair" in out
    # the audit commands still run, to diagnose
    code, out = home.kluis("audit", "verify")
    assert code == 1
    assert f"audit.jsonl:{lines + 1}:" in out if damage is not _directory else says in out
    code, out = home.kluis("audit", "show")
    if damage is not _directory:
        assert out.count("\n") >= lines  # the records before the damage are shown
    assert code == 1


@pytest.mark.parametrize("damage", [_tear, _garbage])
def test_repair_moves_the_damaged_tail_out_and_records_it(home, damage):
    damage(home)
    tail = home.log.read_bytes()
    code, out = home.kluis("audit", "repair")
    assert code == 0, out
    kept = list(home.root.glob("audit.jsonl.damaged-*"))
    assert len(kept) == 1 and tail.endswith(kept[0].read_bytes())
    repair = [r for r in _records(home) if r["event"] == "repair"][-1]
    assert repair["details"]["kept_in"] == str(kept[0])
    assert home.kluis(*CHECK)[0] == 0
    code, out = home.kluis("audit", "verify")
    assert code == 0, out


def test_repair_rebuilds_a_lost_head_file_and_says_so(home):
    headfile.remove(home.log)
    assert home.kluis(*CHECK)[0] == 1
    code, out = home.kluis("audit", "repair")
    assert code == 0 and "head file rebuilt" in out
    assert home.kluis(*CHECK)[0] == 0


def test_repair_refuses_what_only_a_backup_can_fix(home):
    home.kluis(*CHECK)
    lines = home.log.read_text().splitlines(keepends=True)
    home.log.write_text("".join(lines[:-2]))
    code, out = home.kluis("audit", "repair")
    assert code == 1 and "restore it from a backup" in out


def test_show_filters_by_deliberation_actor_action_and_time(home, tmp_path, monkeypatch):
    home.kluis("keys", "create", "deliberations/24-074.yaml", "--keystore", tmp_path / "ks")
    home.kluis(*CHECK)
    code, out = home.kluis("audit", "show", "--deliberation", "24-074", "--json")
    assert code == 0, out
    rows = [json.loads(x) for x in out.splitlines()]
    assert {r["action"] for r in rows} == {"keys create"}
    assert {r["event"] for r in rows} == {"start", "end"}  # the start inherits its end's
    code, out = home.kluis("audit", "show", "--action", "keys", "--json")
    assert {json.loads(x)["action"] for x in out.splitlines()} == {
        "keys create",
        "keys release-key",
    }
    code, out = home.kluis("audit", "show", "--actor", "nobody", "--json")
    assert code == 0 and out == ""
    code, out = home.kluis("audit", "show", "--until", "2000-01-01", "--json")
    assert out == ""
    code, out = home.kluis("audit", "show", "--since", "2000-01-01", "--action", "deliberation")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["#", "time", "(UTC)"]
    assert "deliberation check" in out and "keys create" not in out
    code, out = home.kluis("audit", "show", "--since", "yesterday")
    assert code == 2 and "--since 'yesterday'" in out
