"""The one `kluis` command. Each part of kluis contributes its own sub-command group."""

from __future__ import annotations

import typer

from kluis.deliberation.cli import app as deliberation_app
from kluis.disclosure.cli import app as tables_app
from kluis.extract.cli import register as register_extract
from kluis.pseudonym.cli import app as keys_app
from kluis.warehouse.cli import app as warehouse_app

app = typer.Typer(
    help="kluis: extract what a deliberation allows, pseudonymised and coarsened; check what leaves.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(warehouse_app, name="warehouse", help="Generate, validate and profile a warehouse.")
app.add_typer(deliberation_app, name="deliberation", help="Check and show deliberation files.")
app.add_typer(keys_app, name="keys", help="Per-deliberation pseudonymisation keys.")
app.add_typer(tables_app, name="tables", help="Small cell risk analysis of tables.")
register_extract(app)  # adds the top-level `kluis extract` command

if __name__ == "__main__":  # pragma: no cover
    app()
