"""docs/cli.md is the reference generated from the Typer app, and it is current."""

from __future__ import annotations

import typer
from typer import _click as click

from kluis import docs_cli
from kluis.cli import COMMANDS, app


def test_the_reference_is_current():
    """Fails when a command, option or help text changed without regenerating:
    run `python -m kluis.docs_cli`."""
    assert docs_cli.DOC.read_text(encoding="utf-8") == docs_cli.render()


def test_every_command_and_option_is_in_the_reference():
    text = docs_cli.render()
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="kluis")
    seen = 0
    for name in COMMANDS:
        assert f"`kluis {name}`" in text
        cmd = root.get_command(ctx, name)
        commands = (
            [(f"kluis {name} {sub}", cmd.get_command(ctx, sub)) for sub in cmd.list_commands(ctx)]
            if hasattr(cmd, "list_commands")
            else [(f"kluis {name}", cmd)]
        )
        for title, sub in commands:
            section = text.split(f"## `{title}`\n", 1)[1].split("\n## ", 1)[0]
            for p in sub.params:
                if p.name != "help" and not getattr(p, "hidden", False):
                    shown = p.opts[0] if p.opts[0].startswith("-") else p.name.upper()
                    assert f"`{shown}`" in section, (title, shown)
                    seen += 1
    assert seen > 30


def test_check_mode_says_when_the_file_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text("old\n")
    monkeypatch.setattr(docs_cli, "DOC", stale)
    assert docs_cli.main(["--check"]) == 1
    assert "is out of date: run python -m kluis.docs_cli" in capsys.readouterr().err
    assert docs_cli.main([]) == 0 and docs_cli.main(["--check"]) == 0
