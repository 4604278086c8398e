"""The log file: appends chained and numbered, read from the tail only, failing closed."""

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.access import Users, current_account
from kluis.audit import AuditError, AuditLog, headfile
from kluis.audit.record import GENESIS, canonical, record_hash


def _log(tmp_path):
    return AuditLog(tmp_path / "state" / "audit.jsonl")


def test_records_are_numbered_and_each_names_the_hash_of_the_one_before(tmp_path):
    log = _log(tmp_path)
    first = log.append("extract", deliberation="26/104", phase="full")
    second = log.append("keys create", deliberation="26/104")
    assert (first["seq"], first["prev"]) == (0, GENESIS)
    assert (second["seq"], second["prev"]) == (1, first["hash"])
    assert second["hash"] == record_hash(second)
    assert log.verify() == 2
    assert [r["action"] for r in log.entries()] == ["extract", "keys create"]


def test_log_is_private_to_its_owner(tmp_path):
    log = _log(tmp_path)
    log.append("x")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    os.chmod(log.path, 0o644)
    log.append("y")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_actor_is_the_kluis_user_of_the_os_account_never_USER(tmp_path, monkeypatch):
    users = tmp_path / "users.yaml"
    Users(users).add("anna", "checker", "pw", account=current_account())
    monkeypatch.setenv("KLUIS_USERS", str(users))
    monkeypatch.setenv("USER", "mallory")
    rec = _log(tmp_path).append("tables protect")
    assert (rec["actor"], rec["account"], rec["role"]) == ("anna", current_account(), "checker")


def test_append_reads_only_the_tail(tmp_path):
    """The first line is garbage: an append that read the whole file would trip over it."""
    log = _log(tmp_path)
    for i in range(3):
        log.append("step", n=i)
    lines = log.path.read_bytes().split(b"\n")
    lines[0] = b"x" * len(lines[0])
    log.path.write_bytes(b"\n".join(lines))
    assert log.append("step", n=3)["seq"] == 3
    with pytest.raises(AuditError) as exc:
        log.verify()
    assert exc.value.line == 1


def test_a_torn_last_line_fails_closed_naming_the_line(tmp_path):
    log = _log(tmp_path)
    for i in range(3):
        log.append("step", n=i)
    with open(log.path, "ab") as fh:
        fh.write(b'{"seq": 3, "ti')
    before = log.path.read_bytes()
    with pytest.raises(AuditError, match=r"audit.jsonl:4: the last line is incomplete") as exc:
        log.append("step", n=3)
    assert exc.value.kind == "torn" and "kluis audit repair" in str(exc.value)
    assert log.path.read_bytes() == before


@pytest.mark.parametrize(
    ("tail", "kind"),
    [(b"garbage\n", "damaged"), (b"\n", "inserted"), (b"\xff\xfe\n", "damaged")],
)
def test_a_bad_last_line_fails_closed(tmp_path, tail, kind):
    log = _log(tmp_path)
    log.append("a")
    log.append("b")
    with open(log.path, "ab") as fh:
        fh.write(tail)
    with pytest.raises(AuditError, match=r"audit.jsonl:3: the last line is not an audit record"):
        log.append("c")


def test_a_directory_in_place_of_the_log_fails_closed(tmp_path):
    log = _log(tmp_path)
    log.path.mkdir(parents=True)
    with pytest.raises(AuditError, match="is a directory"):
        log.append("x")


def test_an_interrupted_append_is_not_mistaken_for_tampering(tmp_path):
    log = _log(tmp_path)
    a = log.append("a")
    b = log.append("b")
    # killed after announcing record 2, before writing it: the log ends at b
    headfile.write(
        log.path,
        headfile.HeadState(headfile.Position(1, b["hash"]), headfile.Position(2, "f" * 64)),
    )
    assert log.append("c")["seq"] == 2
    # killed after writing a record, before confirming it: the log ends at the pending record
    c = log.head()
    headfile.write(
        log.path,
        headfile.HeadState(headfile.Position(1, b["hash"]), headfile.Position(2, c["hash"])),
    )
    assert log.append("d")["seq"] == 3
    assert log.verify() == 4 and a["seq"] == 0


def test_a_record_kluis_did_not_write_stops_every_append(tmp_path):
    log = _log(tmp_path)
    log.append("a")
    last = log.append("b")
    forged = {**last, "seq": 2, "action": "forged", "prev": last["hash"]}
    forged["hash"] = record_hash(forged)
    with open(log.path, "a") as fh:
        fh.write(canonical(forged) + "\n")
    with pytest.raises(AuditError, match="inserted: records 2..2 were not written by kluis") as exc:
        log.append("c")
    assert exc.value.kind == "inserted"


def test_a_cut_log_stops_every_append(tmp_path):
    log = _log(tmp_path)
    for i in range(4):
        log.append("step", n=i)
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:2]))
    with pytest.raises(
        AuditError, match="cut: the log ends at record 1 but kluis last wrote record 3"
    ):
        log.append("x")


def test_a_deleted_log_stops_every_append(tmp_path):
    log = _log(tmp_path)
    log.append("a")
    log.path.unlink()
    with pytest.raises(AuditError) as exc:
        log.append("b")
    assert exc.value.kind == "cut"


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["prev", "hash", "a", 'q"uote', "é", "event"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["prev", "hash", "x"]), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=4,
    )
)
def test_any_details_are_written_canonically_and_verify(tmp_path_factory, details):
    log = AuditLog(tmp_path_factory.mktemp("p") / "audit.jsonl")
    rec = log.append("x", **{f"d_{k}": v for k, v in details.items()})
    log.append("y", **{f"d_{k}": v for k, v in details.items()})
    raw = log.path.read_bytes().splitlines()[0]
    assert raw == canonical(json.loads(raw)).encode()
    assert json.loads(raw)["hash"] == rec["hash"] == record_hash(json.loads(raw))
    assert log.verify() == 2
