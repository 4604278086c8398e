"""Crypto-shredding end to end: a real key and extract, destroyed at the retention date; a new
key gives other sequence numbers, and the old key is in nothing left on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from kluis.audit import AuditLog
from kluis.pseudonym import PERSON, SAMPLE, KeyStore
from tests.unit.kluis_home import home  # noqa: F401

DELIBERATION = "deliberations/26-104.yaml"


def _extract(home, warehouse: Path, out: Path) -> None:  # noqa: F811
    code, output = home.kluis(
        "extract",
        DELIBERATION,
        "--warehouse",
        warehouse,
        "--phase",
        "development",
        "--out",
        out,
        "--today",
        "2026-11-22",
    )
    assert code == 0, output


def _rows(out: Path) -> set[tuple]:
    table = pq.read_table(out / "table1_next" / "year=2025" / "part-0.parquet")
    return {tuple(sorted(r.items())) for r in table.to_pylist()}


def _secrets(key) -> list[bytes]:
    parts = [key.key, key.subkey(PERSON), key.subkey(SAMPLE)]
    return parts + [p.hex().encode() for p in parts]


def test_destroyed_key_leaves_nothing_that_links_back(home, small_warehouse, tmp_path):  # noqa: F811
    store = KeyStore(home.root / "keys")
    code, out = home.kluis("keys", "create", DELIBERATION)
    assert code == 0, out
    old_key = store.load("26/104")
    first = tmp_path / "data" / "extract-1"
    _extract(home, small_warehouse, first)
    before = _rows(first)
    # the extract's record says what it read and wrote; its signed head lies beside it
    end = [r for r in AuditLog(home.log).entries() if r["action"] == "extract"][-1]
    assert end["deliberation"] == "26/104" and end["details"]["exit_code"] == 0
    assert len(end["details"]["read"]["deliberation"]) == 64
    assert end["details"]["read"]["key"] == old_key.fingerprint
    assert len(end["details"]["wrote"]["manifest"]) == 64
    head = json.loads((first.parent / "extract-1.audit-head.json").read_text())
    assert head["signature"] and head["label"] == "extract 26/104 development"

    code, out = home.kluis("retention", "enforce", "--today", "2032-12-31")
    assert code == 0, out
    assert not first.exists() and not store.exists("26/104")

    code, out = home.kluis("keys", "create", DELIBERATION)
    assert code == 0, out
    new_key = store.load("26/104")
    assert new_key.fingerprint != old_key.fingerprint
    second = tmp_path / "data" / "extract-2"
    _extract(home, small_warehouse, second)
    after = _rows(second)
    assert len(before & after) < 0.01 * len(before)  # other numbers (and another sample)

    leaks = []
    for root in (home.root, tmp_path):
        for f in root.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                leaks += [f for s in _secrets(old_key) if s in data]
    assert not leaks, leaks
    code, out = home.kluis("audit", "verify")
    assert code == 0, out
