"""Who may do what: one check in the CLI before any command runs; a refusal per role."""

from __future__ import annotations

import importlib

import pytest
import typer
from typer.core import TyperGroup

from kluis.access import PERMISSIONS, Users, current_account
from kluis.access.commands import COMMAND_ACTIONS, action_of, authorize
from kluis.audit import AuditLog
from kluis.errors import NotPermitted


@pytest.fixture
def as_role(home, tmp_path, monkeypatch):
    """Make this OS account a user with `role` (in a users file of its own)."""

    def set_role(role: str) -> None:
        users = tmp_path / f"users-{role}.yaml"
        Users(users).add("me", role, "pw", account=current_account())
        if role != "steward":
            Users(users).add("boss", "steward", "pw", account="another-account")
        monkeypatch.setenv("KLUIS_USERS", str(users))

    return set_role


def _refused(home, *argv) -> str:
    before = home.log.read_bytes()
    code, out = home.kluis(*argv)
    assert code == 3, out
    assert out.startswith("error: not permitted: ") and out.count("\n") == 1
    new = home.log.read_bytes()[len(before) :].decode()
    assert '"event":"end"' in new and '"error":"NotPermitted"' in new  # the refusal is logged
    return out


RESEARCHER_REFUSED = [
    ("keys", "create", "26/104"),
    ("keys", "release-key"),
    ("extract", "deliberations/26-104.yaml", "--warehouse", "wh", "--phase", "full", "--out", "o"),
    ("tables", "protect", "t.csv", "--spec", "s.yaml", "--out", "o"),  # full data outside
    ("warehouse", "generate", "--out", "wh"),
    ("retention", "enforce"),  # destroy
    ("users", "add", "x", "--role", "steward", "--password-stdin"),
    ("audit", "show"),
]


@pytest.mark.parametrize("argv", RESEARCHER_REFUSED, ids=lambda a: " ".join(a[:2]))
def test_researcher_refusals(home, as_role, argv, tmp_path):
    as_role("researcher")
    out = _refused(home, *argv)
    assert "me (researcher) may not run" in out


def test_researcher_refusal_happens_before_anything_is_written(home, as_role, tmp_path):
    as_role("researcher")
    store = tmp_path / "ks"
    _refused(home, "keys", "create", "26/104", "--keystore", store)
    assert not store.exists()


CHECKER_REFUSED = [
    (
        "extract",
        "deliberations/26-104.yaml",
        "--warehouse",
        "wh",
        "--phase",
        "development",
        "--out",
        "o",
    ),
    ("keys", "create", "26/104"),
    ("retention", "enforce"),
    ("users", "remove", "boss"),
    ("warehouse", "validate", "wh"),
]


@pytest.mark.parametrize("argv", CHECKER_REFUSED, ids=lambda a: " ".join(a[:2]))
def test_checker_refusals(home, as_role, argv):
    as_role("checker")
    assert "me (checker) may not run" in _refused(home, *argv)


def test_checker_may_not_run_code_and_researcher_may(home, tmp_path):
    users = Users(tmp_path / "u.yaml")
    users.add("carl", "checker", "pw", account=current_account())
    with pytest.raises(NotPermitted, match=r"carl \(checker\) may not run `kluis enclave run`"):
        authorize("enclave run", {}, users)
    other = Users(tmp_path / "r.yaml")
    other.add("rita", "researcher", "pw", account=current_account())
    assert authorize("enclave run", {}, other).name == "rita"


def test_steward_may_not_approve_outputs(tmp_path):
    users = Users(tmp_path / "u.yaml")
    users.add("sam", "steward", "pw", account=current_account())
    with pytest.raises(NotPermitted, match=r"sam \(steward\) may not run `kluis review decide`"):
        authorize("review decide", {}, users)


def test_steward_refused_nothing_of_its_own(home, as_role):
    as_role("steward")
    code, out = home.kluis("users", "list")
    assert code == 0 and "me " in out


def test_an_account_that_is_no_user_is_refused_everything(home, tmp_path, monkeypatch):
    users = tmp_path / "u.yaml"
    Users(users).add("boss", "steward", "pw", account="another-account")
    monkeypatch.setenv("KLUIS_USERS", str(users))
    out = _refused(home, "deliberation", "check", "deliberations/26-104.yaml")
    assert f"account {current_account()!r} is not a kluis user" in out


def test_public_commands_are_open_to_every_role(home, as_role):
    as_role("researcher")
    code, out = home.kluis("deliberation", "check", "deliberations/26-104.yaml")
    assert code == 0, out


def test_bootstrap_only_the_first_steward_for_this_account(home, tmp_path, monkeypatch):
    users = tmp_path / "fresh" / "users.yaml"
    monkeypatch.setenv("KLUIS_USERS", str(users))
    me = current_account()
    out = _refused(home, "deliberation", "check", "deliberations/26-104.yaml")
    assert f"create the first steward with `kluis users add {me} --role steward`" in out
    _refused(home, "users", "add", me, "--role", "checker", "--password-stdin")
    _refused(home, "users", "add", "eve", "--role", "steward", "--password-stdin")
    assert not users.exists()
    code, out = home.kluis(
        "users",
        "add",
        "first",
        "--role",
        "steward",
        "--account",
        me,
        "--password-stdin",
        input="s3cret\n",
    )
    assert code == 0, out
    user = Users(users).get("first")
    assert user is not None and user.account == me and user.check_password("s3cret")
    assert "s3cret" not in users.read_text()
    assert home.kluis("deliberation", "check", "deliberations/26-104.yaml")[0] == 0


def test_users_add_list_remove(home):
    code, out = home.kluis(
        "users", "add", "anna", "--role", "checker", "--password-stdin", input="pw1\n"
    )
    assert code == 0, out
    code, out = home.kluis("users", "list", "--json")
    assert '"name": "anna", "role": "checker", "account": "anna"' in out
    assert "argon2" not in out
    code, out = home.kluis(
        "users",
        "add",
        "anna2",
        "--role",
        "checker",
        "--account",
        "anna",
        "--password-stdin",
        input="pw\n",
    )
    assert code == 2 and "already user 'anna'" in out
    code, out = home.kluis(
        "users", "add", "bob", "--role", "boss", "--password-stdin", input="pw\n"
    )
    assert code == 2
    code, out = home.kluis("users", "add", "bob", "--role", "checker")
    assert code == 2 and "--password-stdin" in out  # no terminal to ask on
    assert home.kluis("users", "remove", "anna")[0] == 0
    code, out = home.kluis("users", "remove", current_account())
    assert code == 1 and "last steward" in out
    events = [r["action"] for r in AuditLog(home.log).entries() if r["event"] == "end"]
    assert events.count("users add") == 4 and events.count("users remove") == 2


def test_every_command_has_a_role_rule():
    from kluis.cli import COMMANDS

    paths = []
    for name, (target, _help) in COMMANDS.items():
        module, attr = target.split(":")
        obj = getattr(importlib.import_module(module), attr)
        if isinstance(obj, typer.Typer):
            group = typer.main.get_group(obj)
            assert isinstance(group, TyperGroup)
            paths += [f"{name} {sub}" for sub in group.commands]
        else:
            paths.append(name)
    for path in paths:
        assert action_of(path) in PERMISSIONS, path
    assert set(COMMAND_ACTIONS.values()) <= set(PERMISSIONS)


def test_a_command_without_a_rule_is_refused():
    with pytest.raises(NotPermitted, match="has no role rule"):
        action_of("newgroup newcommand")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"\xff\xfe not utf-8", "cannot read the users file"),
        (b"users: [\n", "cannot read the users file"),
        (b"a: &a [x, x]\nb: &b [*a, *a]\nusers: [*b]\n", "aliases are not allowed"),
        (b"users:\n  - name: x\n    role: admin\n", "users[0]: needs a name and a role"),
    ],
)
def test_a_damaged_users_file_refuses_every_command_naming_it(home, text, says):
    (home.root / "users.yaml").write_bytes(text)
    code, out = home.kluis("deliberation", "check", "deliberations/26-104.yaml")
    assert code == 2 and out.count("\n") == 1
    assert "users.yaml" in out and says in out
