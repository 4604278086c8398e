"""An isolated kluis home per test: a steward (this account), the steward's signing key."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.access import Users, current_account


@dataclass
class Home:
    root: Path
    runner: CliRunner

    @property
    def log(self) -> Path:
        return self.root / "audit.jsonl"

    def kluis(self, *args: str, input: str | None = None) -> tuple[int, str]:
        """Run the real CLI; (exit code, stdout + stderr)."""
        from kluis.cli import app

        result = self.runner.invoke(app, [str(a) for a in args], input=input)
        assert "Traceback" not in result.output, result.output
        return result.exit_code, result.output


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    from argon2 import PasswordHasher

    # cheap argon2 parameters: these tests add many users; the hash format is the same
    monkeypatch.setattr(
        "kluis.access.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    root = tmp_path / "home"
    monkeypatch.setenv("KLUIS_HOME", str(root))
    monkeypatch.setenv("KLUIS_AUDIT_LOG", str(root / "audit.jsonl"))
    for name in ("KLUIS_KEYSTORE", "KLUIS_USERS", "KLUIS_DELIBERATIONS"):
        monkeypatch.delenv(name, raising=False)
    Users(root / "users.yaml").add(current_account(), "steward", password="pw")
    registry = root / "deliberations"  # the shipped deliberations, as `make demo` registers them
    registry.mkdir()
    for file in sorted(Path("deliberations").glob("*.yaml")):
        shutil.copyfile(file, registry / file.name)
    h = Home(root, CliRunner())
    code, out = h.kluis("keys", "release-key")
    assert code == 0, out
    return h
