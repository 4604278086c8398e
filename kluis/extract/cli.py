"""The `kluis extract` command (filled in by its owner)."""

import typer


def register(app: typer.Typer) -> None:
    """Add `kluis extract` to the main app."""
