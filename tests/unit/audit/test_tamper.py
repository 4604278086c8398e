"""Tampering with the log, each kind detected by `kluis audit verify` and named.

The attacker can write the log and its head file and recompute every hash; what they cannot do
is sign with the steward's key, or reach the heads kept with extracts, bundles and certificates.
"""

from __future__ import annotations

import json
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.access.signing import SigningKey
from kluis.audit import AuditLog, headfile
from kluis.audit.catalogue import register
from kluis.audit.heads import receipt_path, write_head
from kluis.audit.record import GENESIS, canonical, checkpoint_message, record_hash


def _commands(home, n: int) -> None:
    for _ in range(n):
        code, out = home.kluis("deliberation", "check", "deliberations/24-074.yaml")
        assert code == 0, out


def _lines(home) -> list[dict]:
    return [json.loads(x) for x in home.log.read_text().splitlines()]


def _write(home, records: list[dict], *, fix_head: bool) -> None:
    home.log.write_text("".join(canonical(r) + "\n" for r in records))
    if fix_head:  # the attacker also rewrites the head file to match
        last = records[-1] if records else None
        pos = None if last is None else headfile.Position(last["seq"], last["hash"])
        headfile.write(home.log, headfile.HeadState(pos))


def _recompute(records: list[dict]) -> list[dict]:
    """Renumber and rechain everything, as an attacker with the file (not the key) can."""
    prev, out = GENESIS, []
    for i, r in enumerate(records):
        r = {**r, "seq": i, "prev": prev}
        r["hash"] = record_hash(r)
        out.append(r)
        prev = r["hash"]
    return out


def _broken(home) -> tuple[str, int | None, str]:
    code, out = home.kluis("audit", "verify")
    assert code == 1, out
    line = out.strip().splitlines()[-1]
    assert line.startswith("error: audit log ")
    kind = line.split(": ")[2]
    where = line.split(": ")[1].rsplit(":", 1)
    return kind, int(where[1]) if len(where) == 2 and where[1].isdigit() else None, line


def _publish(home, tmp_path, name: str) -> None:
    target = tmp_path / name
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    register("extract", target, deliberation="26/104")
    write_head(receipt_path(target), f"extract {name}", deliberation="26/104")


def test_untouched_log_verifies(home, tmp_path):
    _commands(home, 2)
    _publish(home, tmp_path, "x")
    code, out = home.kluis("audit", "verify")
    assert code == 0, out
    assert "1 heads kept elsewhere match" in out and "signed (key" in out


def test_changed_field(home):
    _commands(home, 3)
    records = _lines(home)
    records[3]["details"]["argv"][2] = "deliberations/26-104.yaml"
    _write(home, records, fix_head=False)
    kind, line, text = _broken(home)
    assert (kind, line) == ("changed", 4)
    assert "hash does not match its content" in text


def test_changed_field_with_its_own_hash_recomputed(home):
    _commands(home, 3)
    records = _lines(home)
    records[4]["actor"] = "someone-else"
    records[4]["hash"] = record_hash(records[4])
    _write(home, records, fix_head=False)
    kind, line, _ = _broken(home)
    assert (kind, line) == ("changed", 5)


def test_removed_record(home):
    _commands(home, 3)
    records = _lines(home)
    del records[4]
    _write(home, records, fix_head=True)
    kind, line, text = _broken(home)
    assert (kind, line) == ("removed", 5)
    assert "record 4 missing" in text


def test_inserted_record(home):
    _commands(home, 3)
    records = _lines(home)
    forged = {**records[4], "action": "keys destroy", "details": {"argv": ["keys", "destroy"]}}
    forged["hash"] = record_hash(forged)  # same seq and predecessor as the real record 4
    records.insert(4, forged)
    _write(home, records, fix_head=True)
    kind, line, _ = _broken(home)
    assert (kind, line) == ("inserted", 5)


def test_two_records_swapped(home):
    _commands(home, 3)
    records = _lines(home)
    records[4], records[5] = records[5], records[4]
    _write(home, records, fix_head=False)
    kind, line, text = _broken(home)
    assert (kind, line) == ("reordered", 5)
    assert "record 4 is on line 6" in text


def test_last_records_cut(home):
    _commands(home, 3)
    records = _lines(home)
    _write(home, records[:-3], fix_head=False)
    kind, line, text = _broken(home)
    assert kind == "cut" and line == len(records) - 2
    assert f"kluis last wrote record {len(records) - 1}" in text


def test_last_records_cut_and_head_file_rewritten_is_caught_by_a_head_kept_elsewhere(
    home, tmp_path
):
    _commands(home, 1)
    _publish(home, tmp_path, "extract-1")
    records = _lines(home)
    _write(home, records[:-2], fix_head=True)  # cut the publication's checkpoint
    kind, _line, text = _broken(home)
    assert kind == "rolled back" and "extract-1.audit-head.json" in text


def test_older_copy_put_back(home, tmp_path):
    _commands(home, 2)
    saved = tmp_path / "saved"
    saved.mkdir()
    for f in (home.log, headfile.head_path(home.log)):
        shutil.copy2(f, saved / f.name)
    _publish(home, tmp_path, "extract-later")
    _commands(home, 1)
    for f in (home.log, headfile.head_path(home.log)):
        shutil.copy2(saved / f.name, f)
    kind, _line, text = _broken(home)
    assert kind == "rolled back"
    assert "an older copy of the log was put back" in text


def test_older_copy_put_back_and_written_on(home, tmp_path):
    _commands(home, 1)
    saved = tmp_path / "saved"
    saved.mkdir()
    for f in (home.log, headfile.head_path(home.log)):
        shutil.copy2(f, saved / f.name)
    _commands(home, 1)
    _publish(home, tmp_path, "extract-later")
    for f in (home.log, headfile.head_path(home.log)):
        shutil.copy2(saved / f.name, f)
    _commands(home, 3)  # kluis carries on on the old copy
    kind, _line, text = _broken(home)
    assert kind == "rolled back" and "written on since" in text


def test_whole_chain_recomputed_after_an_edit_is_caught_by_the_signed_checkpoints(home):
    _commands(home, 4)
    records = _lines(home)
    assert any(r["event"] == "checkpoint" for r in records[5:])
    records[3]["details"]["argv"] = ["deliberation", "check", "elsewhere.yaml"]
    _write(home, _recompute(records), fix_head=True)
    kind, line, text = _broken(home)
    assert kind == "changed" and line is not None and line >= 5
    assert "chain recomputed" in text


def test_whole_chain_recomputed_without_its_checkpoints_is_caught(home):
    _commands(home, 2)
    records = [r for r in _lines(home) if r["event"] != "checkpoint"]
    _write(home, _recompute(records), fix_head=True)
    kind, _line, text = _broken(home)
    assert kind == "removed" and "no signed checkpoint" in text


def test_checkpoint_signed_by_another_key(home):
    _commands(home, 2)
    records = _lines(home)
    mallory = SigningKey(Ed25519PrivateKey.generate())
    last = records[-1]
    forged = {
        **last,
        "seq": last["seq"] + 1,
        "prev": last["hash"],
        "event": "checkpoint",
        "action": "checkpoint",
        "details": {
            "seq": last["seq"],
            "hash": last["hash"],
            "signer": mallory.fingerprint,
            "signature": mallory.sign_b64(checkpoint_message(last["seq"], last["hash"])),
            "reason": "forged",
        },
    }
    forged["hash"] = record_hash(forged)
    _write(home, [*records, forged], fix_head=True)
    kind, line, text = _broken(home)
    assert (kind, line) == ("bad signature", len(records) + 1)
    assert mallory.fingerprint in text


@pytest.mark.parametrize("how", ["emptied", "deleted", "emptied with its head file"])
def test_emptied_or_deleted_log(home, how):
    _commands(home, 2)
    if how == "deleted":
        home.log.unlink()
    else:
        home.log.write_bytes(b"")
    if how == "emptied with its head file":
        headfile.remove(home.log)
    kind, _line, text = _broken(home)
    assert kind == "cut", text


def test_blank_lines_inserted(home):
    _commands(home, 2)
    text = home.log.read_text().splitlines(keepends=True)
    text.insert(3, "\n")
    home.log.write_text("".join(text))
    kind, line, _ = _broken(home)
    assert (kind, line) == ("inserted", 4)


def test_forged_record_appended(home):
    _commands(home, 2)
    records = _lines(home)
    last = records[-1]
    forged = {**last, "seq": last["seq"] + 1, "prev": last["hash"], "action": "keys destroy"}
    forged["hash"] = record_hash(forged)
    _write(home, [*records, forged], fix_head=False)
    kind, line, _ = _broken(home)
    assert (kind, line) == ("inserted", len(records) + 1)
    # and no later command signs over it
    code, out = home.kluis("deliberation", "check", "deliberations/24-074.yaml")
    assert code == 1 and "were not written by kluis" in out


def test_changed_head_kept_elsewhere_is_a_bad_signature(home, tmp_path):
    _publish(home, tmp_path, "x")
    receipt = receipt_path(tmp_path / "x")
    head = json.loads(receipt.read_text())
    head["seq"] -= 1
    receipt.write_text(json.dumps(head))
    kind, _line, text = _broken(home)
    assert kind == "bad signature" and "x.audit-head.json" in text


def test_verify_against_a_head_given_on_the_command_line(home, tmp_path):
    _publish(home, tmp_path, "delivered")
    copy = tmp_path / "copy-of-receipt.json"
    shutil.copy2(receipt_path(tmp_path / "delivered"), copy)
    records = _lines(home)
    _write(home, records[:-2], fix_head=True)
    shutil.rmtree(home.root / "catalogue")  # the attacker also wipes the catalogue
    code, out = home.kluis("audit", "verify")
    assert code == 0, out  # nothing left at home shows it...
    code, out = home.kluis("audit", "verify", "--against", copy)
    assert code == 1 and "rolled back" in out  # ...the copy the recipient kept does


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_changed_byte_is_detected(home, data):
    if not home.log.exists() or len(_lines(home)) < 6:
        _commands(home, 2)
    original = home.log.read_bytes()
    pos = data.draw(st.integers(0, len(original) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[pos]))
    home.log.write_bytes(original[:pos] + bytes([byte]) + original[pos + 1 :])
    try:
        code, out = home.kluis("audit", "verify")
        assert code == 1, f"byte {pos} -> {byte}: {out}"
    finally:
        home.log.write_bytes(original)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_lines_removed_or_moved_are_detected(home, data):
    if not home.log.exists() or len(_lines(home)) < 6:
        _commands(home, 2)
    original = home.log.read_bytes()
    lines = original.splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 1))
    j = data.draw(st.integers(0, len(lines) - 1))
    if data.draw(st.booleans()) and i != j:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        del lines[min(i, j) : max(i, j) + 1]
    home.log.write_bytes(b"".join(lines))
    try:
        code, out = home.kluis("audit", "verify")
        assert code == 1, out
    finally:
        home.log.write_bytes(original)


def test_log_written_by_the_real_commands_is_consistent(home):
    _commands(home, 1)
    records = list(AuditLog(home.log).entries())
    assert [r["seq"] for r in records] == list(range(len(records)))


def test_a_line_rewritten_with_the_same_content_is_caught(home):
    _commands(home, 1)
    lines = home.log.read_text().splitlines(keepends=True)
    lines[2] = json.dumps(json.loads(lines[2]), indent=None) + "\n"  # spaces after separators
    home.log.write_text("".join(lines))
    kind, line, text = _broken(home)
    assert (kind, line) == ("changed", 3) and "reformatted" in text
