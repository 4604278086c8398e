"""Retention on a catalogue and a journal that a careless hand or a saboteur changed: nothing
outside what kluis wrote is ever destroyed, every command answers with one line naming the
record, and `enforce` fails closed rather than certify a destruction that missed something."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kluis.audit.catalogue import register

NESTED = b"[" * 100_000 + b"]" * 100_000
DUE = "2032-12-31"  # 26/104 is past its retention date


def _record(**changes: object) -> bytes:
    rec = {
        "kind": "extract",
        "path": "/nonexistent/kluis-extract",
        "deliberation": "26/104",
        "retention": "2031-12-31",
        "created": "2026-01-01T00:00:00+00:00",
        "details": {},
    }
    rec.update(changes)
    return json.dumps(rec).encode()


@pytest.fixture
def extract(home, tmp_path) -> Path:
    d = tmp_path / "data" / "26-104-full"
    d.mkdir(parents=True)
    (d / "part-0.parquet").write_bytes(os.urandom(32))
    register("extract", d, deliberation="26/104")
    return d


BAD_RECORDS = [
    ("nested", NESTED, "nested too deeply"),
    ("path-int", _record(path=5), "path"),
    ("deliberation-list", _record(deliberation=["26/104"]), "deliberation"),
    ("kind", _record(kind="bogus"), "kind"),
    ("retention", _record(retention="2026-13-45"), "retention"),
    ("missing", b'{"kind": "extract"}', "missing"),
    ("extra", _record(owner="x"), "owner"),
    ("relative", _record(path="data/x"), "not an absolute path"),
    ("dotdot", _record(path="/nonexistent/kluis/../x"), "'..'"),
    ("binary", bytes(range(256)), "a NUL byte"),
]
# These tests never name a real directory outside their own temporary one: a catalogue record
# naming $HOME made an unguarded `retention enforce` destroy it (found by this file; the guard
# is `kluis.audit.catalogue.unsafe_path`, tested on "/" and its like below without running it).


@pytest.mark.parametrize(("name", "data", "says"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_a_bad_catalogue_record_is_named_and_stops_the_destruction(home, extract, name, data, says):
    bad = home.root / "catalogue" / f"extract-{name}.json"
    bad.write_bytes(data)
    code, out = home.kluis("retention", "status", "--today", DUE)
    assert code == 0, out
    assert f"unreadable catalogue record: {bad}" in out and says in out, out
    code, out = home.kluis("retention", "enforce", "--today", DUE)
    assert code == 1 and out.count("\n") == 1, out
    assert str(bad) in out and says in out
    assert extract.exists()  # nothing destroyed by a run that would certify an incomplete one
    code, out = home.kluis("audit", "verify")
    assert code == 0, out


def test_the_home_and_kluis_home_are_never_destroyed(home, extract, tmp_path, monkeypatch):
    fake_home = tmp_path / "fake-home"  # $HOME: Path.home() reads it
    (fake_home / "thesis").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(fake_home))
    victims = [home.root, home.root / "keys", fake_home, tmp_path / "data" / ".." / "data"]
    for i, target in enumerate(victims):
        (home.root / "catalogue" / f"extract-home{i}.json").write_bytes(_record(path=str(target)))
    code, out = home.kluis("retention", "enforce", "--today", DUE)
    assert code == 1 and "never destroys" in out, out
    assert (home.root / "audit.jsonl").is_file() and (fake_home / "thesis").is_dir()
    assert extract.exists()


@pytest.mark.parametrize("path", ["/", "/etc", "/usr", "/tmp", "/home", "relative", "/a/../b"])
def test_system_directories_are_never_destruction_targets(home, path):
    from kluis.audit.catalogue import unsafe_path

    assert unsafe_path(path) is not None


@pytest.mark.parametrize(
    "journal",
    [
        b"[]",
        b"{}",
        NESTED,
        b'{"items": "x", "deliberations": {}}',
        b"\xff",
    ],
)
def test_a_damaged_journal_fails_closed_naming_it(home, extract, journal):
    path = home.root / "retention" / "journal.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(journal)
    code, out = home.kluis("retention", "enforce", "--today", DUE)
    assert code == 1 and out.count("\n") == 1, out
    assert "journal.json" in out and "interrupted destruction" in out
    assert extract.exists()


def test_a_directory_in_place_of_the_journal_fails_closed(home, extract):
    path = home.root / "retention" / "journal.json"
    path.mkdir(parents=True)
    code, out = home.kluis("retention", "enforce", "--today", DUE)
    assert code == 1 and "journal.json" in out, out
    assert extract.exists()


def test_a_journal_naming_a_path_kluis_never_wrote_destroys_nothing(
    home, extract, tmp_path, monkeypatch
):
    thesis = tmp_path / "thesis"
    (thesis / "chapter").mkdir(parents=True)
    path = home.root / "retention" / "journal.json"
    path.parent.mkdir(exist_ok=True)
    item = {"kind": "extract", "role": "item", "path": str(home.root), "deliberation": "26/104"}
    item |= {"catalogue": None, "evidence": None, "done": False}
    relative = item | {"path": "thesis"}
    journal = {"id": "abc", "started": "x", "today": DUE, "by": {}, "deliberations": {}}
    journal |= {"items": [relative, item], "kept": [], "head": None}
    path.write_text(json.dumps(journal))
    monkeypatch.chdir(tmp_path)
    code, out = home.kluis("retention", "enforce", "--today", DUE)
    assert code == 1 and "journal.json" in out, out
    assert thesis.exists() and extract.exists() and (home.root / "audit.jsonl").is_file()
