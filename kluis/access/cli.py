"""`kluis users add|list|remove`: who may use kluis, and in which role (steward only, except
the very first `users add`, which creates the steward for the account running it)."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(no_args_is_help=True)


def _password(name: str, from_stdin: bool) -> str:
    from kluis.access.users import UsersError

    if from_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise UsersError("--password-stdin: no password on standard input")
        return text
    if not sys.stdin.isatty():
        raise UsersError(
            "no terminal to ask for the password: give it on standard input with --password-stdin"
        )
    return typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (also the OS account unless --account)."),
    role: str = typer.Option(..., "--role", help="steward | checker | researcher"),
    account: str | None = typer.Option(
        None, "--account", help="OS account that acts as this user on the command line."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (scripts)."
    ),
) -> None:
    """Add a user. The password (for the review application) is stored as an argon2 hash."""
    from kluis.access.users import Users
    from kluis.audit import note

    users = Users()
    user = users.add(name, role, _password(name, password_stdin), account=account)
    note(user={"name": user.name, "role": user.role, "account": user.account})
    typer.echo(f"added {user.name} ({user.role}, account {user.account}) to {users.path}")


@app.command("list")
def list_users(
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List the users and their roles (never a password hash)."""
    import json

    from kluis.access.users import Users

    users = Users().all()
    for u in users:
        if json_lines:
            typer.echo(json.dumps({"name": u.name, "role": u.role, "account": u.account}))
        else:
            typer.echo(f"{u.name:<20} {u.role:<11} account {u.account}")


@app.command("remove")
def remove(name: str = typer.Argument(..., help="User name.")) -> None:
    """Remove a user (never the last steward)."""
    from kluis.access.users import Users
    from kluis.audit import note

    users = Users()
    user = users.remove(name)
    note(user={"name": user.name, "role": user.role, "account": user.account})
    typer.echo(f"removed {user.name} ({user.role}) from {users.path}")
