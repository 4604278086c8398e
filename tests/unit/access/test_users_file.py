"""users.yaml as a careless hand or a crash leaves it: every command refuses it with one line
naming the file, the line and the field; concurrent and killed `users add` lose nobody."""

from __future__ import annotations

import threading

import pytest

from kluis.access import Users

CHECK = ("deliberation", "check", "deliberations/26-104.yaml")


def _steward(home) -> bytes:
    return (home.root / "users.yaml").read_bytes()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (b"users: " + b"[" * 5000 + b"]" * 5000 + b"\n", "users.yaml:1: cannot read the users"),
        (b"users: []\nusers: []\n", "users.yaml:2: cannot read the users file: users: duplicate"),
        (b"users:\n  - name: 5\n    role: steward\n", "users.yaml:2: users[0].name: "),
        (b"users:\n  - name: x\n    role: steward\n    account: [a]\n", ":4: users[0].account"),
        (b"users:\n  - name: x\n    role: steward\n    password: 5\n", ":4: users[0].password"),
        (
            b"users:\n  - name: x\n    role: steward\n    rol: checker\n",
            ":4: users[0].rol: unknown",
        ),
        (
            b"users:\n  - name: x\n    role: checker\n  - name: x\n    role: steward\n",
            ":4: users[1]",
        ),
        (
            b"users:\n  - {name: x, role: checker}\n  - {name: y, role: steward, account: x}\n",
            ":3:",
        ),
        (b"users:\n  - name: x\n    role: steward\n    account: ../root\n", ":4: users[0].account"),
        (b"users:\n  - name: ok\n    role: steward\n  - name: \xff\n", "users.yaml:4: cannot read"),
    ],
)
def test_a_malformed_users_file_is_refused_naming_line_and_field(home, text, says):
    (home.root / "users.yaml").write_bytes(text)
    for argv in (CHECK, ("users", "list")):
        code, out = home.kluis(*argv)
        assert code == 2, out
        assert out.count("\n") == 1 and says in out, out


def test_users_added_at_the_same_time_are_all_kept(home):
    users = Users(home.root / "users.yaml")
    names = [f"user{i}" for i in range(6)]
    errors: list[BaseException] = []

    def add(name: str) -> None:
        try:
            users.add(name, "checker", "pw")
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(names) <= {u.name for u in users.all()}


def test_a_killed_users_add_leaves_the_file_whole_and_its_temporary_is_cleared(home):
    path = home.root / "users.yaml"
    before = path.read_bytes()
    leftover = path.with_name(".users.yaml.tmp-999999999-abcd1234")  # a dead writer's
    leftover.write_bytes(before[: len(before) // 2])
    code, out = home.kluis(
        "users", "add", "zed", "--role", "checker", "--password-stdin", input="pw\n"
    )
    assert code == 0, out
    assert not leftover.exists()
    assert {u.name for u in Users(path).all()} >= {"zed"}
