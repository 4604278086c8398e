from typer.testing import CliRunner

from kluis.audit import AuditLog
from kluis.cli import app


def test_every_command_is_logged_and_the_chain_verifies(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("KLUIS_AUDIT_LOG", str(log))
    runner = CliRunner()
    runner.invoke(app, ["deliberation", "check", "deliberations/26-104.yaml"])
    runner.invoke(app, ["deliberation", "show", "deliberations/24-074.yaml"])
    entries = list(AuditLog(log).entries())
    assert [e["action"] for e in entries] == ["command", "outcome"] * 2
    assert entries[0]["details"]["argv"] == ["deliberation", "check", "deliberations/26-104.yaml"]
    assert entries[1]["details"]["exit_code"] == 0
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "4 entries" in result.output
    log.write_text(log.read_text().replace("26-104", "99-999"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit.jsonl:1" in result.output
