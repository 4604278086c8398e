"""The key store: one secret per deliberation, owner-only files, fingerprints, destruction."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.pseudonym import KeyStore, KeyStoreError, default_keystore, fingerprint


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_writes_owner_only_file_and_load_returns_same_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    key = store.create("26/104")
    path = store.path("26/104")
    assert path.name == "26-104.key"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    loaded = store.load("26-104")  # slug and number name the same key
    assert loaded.key == key.key and len(key.key) == 32
    assert loaded.fingerprint == fingerprint(key.key) == key.fingerprint
    assert len(key.fingerprint) == 16
    assert key.key.hex() not in repr(loaded)


def test_two_deliberations_get_independent_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    a, b = store.create("26/104"), store.create("24/074")
    assert a.key != b.key and a.fingerprint != b.fingerprint


def test_create_refuses_to_replace_an_existing_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    first = store.create("26/104")
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("26/104")
    assert store.load("26/104").key == first.key


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_load_refuses_a_key_file_others_can_read(tmp_path: Path, mode: int) -> None:
    store = KeyStore(tmp_path)
    store.create("26/104")
    os.chmod(store.path("26/104"), mode)
    with pytest.raises(KeyStoreError, match="0600"):
        store.load("26/104")


def test_missing_and_damaged_keys_are_clear_errors(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    with pytest.raises(KeyStoreError, match="no key for deliberation 26-104"):
        store.load("26/104")
    store.create("26/104")
    path = store.path("26/104")
    data = json.loads(path.read_text())
    data["key"] = data["key"][:10]
    path.write_text(json.dumps(data))
    with pytest.raises(KeyStoreError, match="damaged"):
        store.load("26/104")


def test_bad_deliberation_number_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="not a deliberation number"):
        KeyStore(tmp_path).create("../etc/passwd")


def test_destroy_overwrites_and_deletes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = KeyStore(tmp_path)
    key = store.create("26/104")
    path = store.path("26/104")
    written: list[bytes] = []
    real_open = open

    def spy_open(file, mode="r", *args, **kwargs):  # record what destroy writes over the key
        fh = real_open(file, mode, *args, **kwargs)
        if Path(file) == path and "+" in mode:
            orig = fh.write

            def write(b):
                written.append(bytes(b))
                return orig(b)

            fh.write = write
        return fh

    monkeypatch.setattr("builtins.open", spy_open)
    assert store.destroy("26/104") == key.fingerprint
    assert not path.exists()
    assert written and key.key.hex().encode() not in b"".join(written)
    with pytest.raises(KeyStoreError):
        store.load("26/104")


def test_default_keystore_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("KLUIS_KEYSTORE", str(tmp_path / "elsewhere"))
    assert default_keystore() == tmp_path / "elsewhere"
    assert KeyStore().root == tmp_path / "elsewhere"
    monkeypatch.delenv("KLUIS_KEYSTORE")
    monkeypatch.setenv("KLUIS_HOME", str(tmp_path / "home"))
    assert default_keystore() == tmp_path / "home" / "keys"
    monkeypatch.delenv("KLUIS_HOME")
    assert default_keystore() == Path.home() / ".kluis" / "keys"


def test_subkeys_differ_per_purpose(tmp_path: Path) -> None:
    key = KeyStore(tmp_path).create("26/104")
    subs = {key.subkey(p) for p in ("person-pseudonym", "sample-prn", "employer-pseudonym")}
    assert len(subs) == 3 and key.key not in subs


def test_cli_create_show_destroy(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "ks"
    yaml_file = tmp_path / "d.yaml"
    yaml_file.write_text("number: 26/104\n")
    r = runner.invoke(app, ["keys", "create", str(yaml_file), "--keystore", str(store)])
    assert r.exit_code == 0, r.output
    key = KeyStore(store).load("26/104")
    assert key.fingerprint in r.output
    r = runner.invoke(app, ["keys", "show", "26/104", "--keystore", str(store)])
    assert r.exit_code == 0 and key.fingerprint in r.output
    assert key.key.hex() not in r.output
    r = runner.invoke(app, ["keys", "create", "26/104", "--keystore", str(store)])
    assert r.exit_code == 2 and "already exists" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(app, ["keys", "destroy", "26-104", "--keystore", str(store), "--yes"])
    assert r.exit_code == 0 and not KeyStore(store).exists("26/104")
    r = runner.invoke(app, ["keys", "show", "26/104", "--keystore", str(store)])
    assert r.exit_code == 2 and "no key" in r.stderr
