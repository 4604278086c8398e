"""Retention with --today: nothing early, everything at the date, endings and extensions
honoured, a killed destruction finished by the next run, a signed certificate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kluis.access.signing import default_public, verify_b64
from kluis.audit import AuditLog
from kluis.audit.catalogue import entries, register
from kluis.audit.record import canonical
from kluis.pseudonym import KeyStore

SOURCE = Path("deliberations")


def _deliberation(registry: Path, number: str, **changes: str) -> None:
    """A deliberation file derived from 26/104 with another number, dates and links."""
    text = (SOURCE / "26-104.yaml").read_text()
    text = text.replace("number: 26/104", f"number: {number}")
    for field, value in changes.items():
        text = re.sub(rf"^{field}: .*$", f"{field}: {value}", text, count=1, flags=re.M)
    if "ends" not in changes:
        text = re.sub(r"^ends: .*$", "", text, count=1, flags=re.M)
    if "extends" in changes:
        text = text.replace("retention:", f"extends: {changes['extends']}\nretention:", 1)
    (registry / f"{number.replace('/', '-')}.yaml").write_text(text)


@pytest.fixture
def store(home, tmp_path):
    """26/104 with both extracts, a request, a release history, a released bundle and its key;
    24/074 with an extract and a key (another date)."""
    registry = home.root / "deliberations"  # the home fixture registered the shipped ones
    data = tmp_path / "data"
    items = {}
    for kind, name, number in [
        ("extract", "26-104-development", "26/104"),
        ("extract", "26-104-full", "26/104"),
        ("request", "request-1", "26/104"),
        ("history", "history-26-104", "26/104"),
        ("release", "bundle-1", "26/104"),
        ("extract", "24-074-full", "24/074"),
    ]:
        d = data / name
        sub = "00001-table" if kind == "history" else "sub"  # a history holds numbered releases
        (d / sub).mkdir(parents=True)
        (d / sub / "part-0.parquet").write_bytes(os.urandom(64))
        mark = {"request": "request.json", "release": "release.json"}.get(kind, "manifest.json")
        (d / sub / "meta.json" if kind == "history" else d / mark).write_text(
            json.dumps({"name": name})
        )
        register(kind, d, deliberation=number)
        items[name] = d
    # a killed extract run left its scratch directory beside the full extract
    leftover = data / ".26-104-full.work-999999999-abcd1234"
    leftover.mkdir()
    (leftover / "persons.parquet").write_bytes(b"insz->seq mapping")
    items["leftover"] = leftover
    keys = KeyStore(home.root / "keys")
    for number in ("26/104", "24/074"):
        keys.create(number)
        register("key", keys.path(number), deliberation=number)
    return {"registry": registry, "items": items, "keys": keys, "data": data}


def test_a_record_naming_something_kluis_did_not_write_destroys_nothing(home, store, tmp_path):
    """A catalogue record edited to name another directory (a document folder, a source
    tree): it carries no mark of a kluis extract, so nothing at all is destroyed."""
    mine = tmp_path / "documents" / "thesis"
    mine.mkdir(parents=True)
    (mine / "chapter-1.txt").write_text("years of work")
    register("extract", mine, deliberation="26/104")
    code, out = _enforce(home, "2032-12-31")
    assert code == 1 and f"{mine}: not a kluis extract (no manifest.json)" in out
    assert (mine / "chapter-1.txt").read_text() == "years of work"
    assert all(p.exists() for p in store["items"].values())  # nothing else went either


def _status(home, today: str) -> dict:
    code, out = home.kluis("retention", "status", "--today", today, "--json")
    assert code == 0, out
    return json.loads(out)


def _enforce(home, today: str, *extra: str) -> tuple[int, str]:
    return home.kluis("retention", "enforce", "--today", today, *extra)


def test_status_lists_every_item_with_its_date_and_days_left(home, store):
    doc = _status(home, "2032-12-01")
    rows = {Path(i["path"]).name: i for i in doc["items"]}
    assert rows["26-104-full"]["retention"] == "2032-12-31"
    assert rows["26-104-full"]["days_left"] == 30
    assert rows["26-104-full"]["leftovers"] == [str(store["items"]["leftover"])]
    assert rows["bundle-1"]["at_retention"] == "keep"
    assert rows["26-104.key"]["at_retention"] == "destroy"
    assert rows["24-074-full"]["days_left"] < 0 and rows["24-074-full"]["due"]
    code, out = home.kluis("retention", "status", "--today", "2032-12-01")
    assert code == 0 and "26-104-full" in out and "[+1 leftovers]" in out


def test_the_day_before_nothing_of_26_104_happens(home, store):
    code, out = _enforce(home, "2032-12-30")
    assert code == 0, out
    for name in ("26-104-development", "26-104-full", "request-1", "history-26-104"):
        assert store["items"][name].exists()
    assert store["keys"].exists("26/104")
    assert not store["items"]["24-074-full"].exists()  # 24/074's date passed in 2027


def test_on_the_day_itself_everything_goes_but_the_release(home, store):
    code, out = _enforce(home, "2032-12-31")
    assert code == 0, out
    for name in ("26-104-development", "26-104-full", "request-1", "history-26-104", "leftover"):
        assert not store["items"][name].exists(), name
    assert store["items"]["bundle-1"].exists()
    assert not store["keys"].exists("26/104") and not store["keys"].exists("24/074")
    assert not any(p.name.startswith(".") for p in store["data"].iterdir())  # no tombstone
    assert {e.kind for e in entries()} == {"release"}
    # the certificate: signed, says what, when, by whom, with hashes
    (cert_file,) = (home.root / "certificates").glob("destruction-*.json")
    cert = json.loads(cert_file.read_text())
    body = {k: v for k, v in cert.items() if k != "signature"}
    public = default_public(home.root / "keys")
    assert verify_b64(public, cert["signature"], canonical(body).encode())
    assert set(cert["deliberations"]) == {"26/104", "24/074"}
    assert cert["as_of"] == "2032-12-31" and cert["by"]["role"] == "steward"
    destroyed = {Path(d["path"]).name: d for d in cert["destroyed"]}
    assert destroyed["26-104-full"]["evidence"]["files"] == 2
    assert len(destroyed["26-104.key"]["evidence"]["sha256"]) == 64
    assert destroyed["26-104.key"]["fingerprint"]
    assert [Path(k["path"]).name for k in cert["kept"]] == ["bundle-1"]
    # the log says it too, and still verifies (against the certificate's head as well)
    published = [r for r in AuditLog(home.log).entries() if r["event"] == "publish"]
    assert published[-1]["details"]["label"] == "destruction 24/074, 26/104"
    code, out = home.kluis("audit", "verify")
    assert code == 0, out
    assert "1 heads kept elsewhere match" in out


def test_a_changed_certificate_fails_verification(home, store):
    _enforce(home, "2032-12-31")
    (cert_file,) = (home.root / "certificates").glob("destruction-*.json")
    cert = json.loads(cert_file.read_text())
    cert["destroyed"] = cert["destroyed"][1:]
    cert_file.write_text(json.dumps(cert))
    code, out = home.kluis("audit", "verify")
    assert code == 1 and "bad signature" in out


def test_dry_run_destroys_nothing(home, store):
    code, out = _enforce(home, "2033-01-01", "--dry-run")
    assert code == 0 and "would destroy extract (item)" in out
    assert all(p.exists() for p in store["items"].values())


def test_from_the_day_a_later_deliberation_ends_it(home, store):
    _deliberation(
        store["registry"],
        "29/001",
        date="2029-01-10",
        effective="2029-02-01",
        ends='["26/104"]',
        retention="2034-12-31",
    )
    code, _ = _enforce(home, "2029-01-31")
    assert code == 0 and store["items"]["26-104-full"].exists()
    code, out = _enforce(home, "2029-02-01")
    assert code == 0 and "ended by deliberation 29/001" in out
    assert not store["items"]["26-104-full"].exists() and not store["keys"].exists("26/104")


def test_an_extension_by_a_later_deliberation_is_honoured(home, store):
    _deliberation(
        store["registry"],
        "32/001",
        date="2032-05-01",
        effective="2032-06-01",
        extends='["26/104"]',
        retention="2035-12-31",
    )
    doc = _status(home, "2032-12-31")
    full = next(i for i in doc["items"] if i["path"].endswith("26-104-full"))
    assert (full["retention"], full["extended_by"], full["due"]) == ("2035-12-31", "32/001", None)
    code, _ = _enforce(home, "2033-06-30")
    assert code == 0 and store["items"]["26-104-full"].exists() and store["keys"].exists("26/104")
    code, _ = _enforce(home, "2035-12-31")
    assert code == 0 and not store["items"]["26-104-full"].exists()


def test_an_extension_decided_too_late_is_not(home, store):
    _deliberation(
        store["registry"],
        "33/001",
        date="2033-02-01",
        effective="2033-03-01",
        extends='["26/104"]',
        retention="2035-12-31",
    )
    code, _ = _enforce(home, "2033-01-01")
    assert code == 0 and not store["items"]["26-104-full"].exists()


@pytest.mark.parametrize(
    ("today", "says"),
    [
        ("2028-01-01", "retention date 2027-12-31 has passed"),
        ("2027-12-31", "retention date 2027-12-31 has come"),  # due for destruction that day
    ],
)
def test_extract_refuses_a_deliberation_at_or_past_its_retention_date(home, tmp_path, today, says):
    code, out = home.kluis(
        "extract",
        "deliberations/24-074.yaml",
        "--warehouse",
        tmp_path / "wh",
        "--phase",
        "full",
        "--out",
        tmp_path / "o",
        "--today",
        today,
    )
    assert code != 0 and says in " ".join(out.split())
    assert not (tmp_path / "o").exists()


def _kill_run(home, today: str, point: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KLUIS_TEST_KILL_AT": point}
    return subprocess.run(
        [sys.executable, "-m", "kluis.cli", "retention", "enforce", "--today", today],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("point", ["planned", "item-3-destroyed", "item-5-marked", "logged"])
def test_a_destruction_killed_half_way_is_finished_by_the_next_run(home, store, point):
    run = _kill_run(home, "2032-12-31", point)
    assert run.returncode == -9, run.stderr
    journal = home.root / "retention" / "journal.json"
    assert journal.exists()
    code, out = _enforce(home, "2032-12-31")
    assert code == 0, out
    assert "finished an interrupted destruction" in out
    assert not journal.exists()
    for name in ("26-104-development", "26-104-full", "request-1", "history-26-104", "leftover"):
        assert not store["items"][name].exists(), name
    assert not store["keys"].exists("26/104") and store["items"]["bundle-1"].exists()
    assert not any(p.name.startswith(".") for p in store["data"].iterdir())
    assert len(list((home.root / "certificates").glob("*.json"))) == 1
    code, out = home.kluis("audit", "verify")
    assert code == 0, out


def test_destruction_needs_the_signing_key(home, store):
    (home.root / "keys" / "signing.key").unlink()
    code, out = _enforce(home, "2032-12-31")
    assert code == 1 and "signing key" in out
    assert store["items"]["26-104-full"].exists()
