"""CLI commands of kluis.warehouse (filled in by its owner)."""

import typer

app = typer.Typer(no_args_is_help=True)

# `kluis warehouse nbb-list` (issue 5): a synthetic National Bank enterprise list for 24/074.
from kluis.warehouse.nbb import nbb_list_command  # noqa: E402

app.command("nbb-list")(nbb_list_command)

# `kluis warehouse validate` and `kluis warehouse profile` (issue 2).
from kluis.warehouse.profile_cli import profile_command  # noqa: E402
from kluis.warehouse.validate_cli import validate_command  # noqa: E402

app.command("validate")(validate_command)
app.command("profile")(profile_command)

# `kluis warehouse generate` (issue 2): the synthetic, calibrated warehouse.
from kluis.warehouse.generate_cli import generate_command  # noqa: E402

app.command("generate")(generate_command)
