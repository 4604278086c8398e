import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.audit import AuditError, AuditLog


def _log(tmp_path):
    return AuditLog(tmp_path / "audit.jsonl")


def test_chain_verifies_and_links_each_entry_to_the_previous(tmp_path):
    log = _log(tmp_path)
    first = log.append("extract", deliberation="26/104", phase="full")
    second = log.append("keys.create", deliberation="26/104")
    assert second["prev"] == first["hash"]
    assert log.verify() == 2


def test_altered_entry_is_named_by_line(tmp_path):
    log = _log(tmp_path)
    for i in range(3):
        log.append("step", n=i)
    lines = log.path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["details"]["n"] = 99
    lines[1] = json.dumps(entry, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditError, match=r"audit.jsonl:2: entry was altered"):
        log.verify()


def test_removed_entry_breaks_the_chain_at_the_next_line(tmp_path):
    log = _log(tmp_path)
    for i in range(3):
        log.append("step", n=i)
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    with pytest.raises(AuditError, match=r"audit.jsonl:2: chain broken"):
        log.verify()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=8), st.data())
def test_any_single_reordering_is_detected(tmp_path_factory, actions, data):
    log = AuditLog(tmp_path_factory.mktemp("a") / "audit.jsonl")
    for a in actions:
        log.append(a)
    assert log.verify() == len(actions)
    lines = log.path.read_text().splitlines()
    if len(lines) < 2:
        return
    i = data.draw(st.integers(0, len(lines) - 2))
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    log.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditError):
        log.verify()
