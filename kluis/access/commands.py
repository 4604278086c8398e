"""Which action each `kluis` command is, so one check in `kluis.cli` guards all of them.

`authorize(path, params)` runs after the arguments are parsed and before the command does
anything. A command path without a rule is refused (exit 3): a new command must say here who may
run it. A group name (`warehouse`) covers every command of the group without a rule of its own.

Bootstrap: with no users file, the only command allowed is creating the first steward for the
account running it (`kluis users add NAME --role steward`, NAME or --account being this account).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kluis.access.roles import PERMISSIONS, no_user_hint
from kluis.access.users import User, Users, current_account
from kluis.errors import NotPermitted

#: command path -> action in PERMISSIONS ("public": any kluis user)
COMMAND_ACTIONS: dict[str, str] = {
    "warehouse": "warehouse",  # generate, validate, profile, nbb-list: identified data
    "deliberation": "public",  # check, show: deliberations are public texts
    "deliberation register": "registry",  # what is in force and until when: the steward's
    "keys": "keys",  # create, show, destroy, release-key
    "extract": "extract",
    "tables": "tables",  # protect: small cell analysis of tables (full data: never a researcher)
    "risk": "risk",  # re-identification risk of an extract
    "enclave": "enclave.run",
    "enclave run": "enclave.run",
    "review": "review.serve",
    "review serve": "review.serve",
    "review decide": "review.decide",
    "review queue": "review.serve",  # the output requests and their states
    "review policy": "registry",  # more checkers than the deliberation asks: the steward's
    "release": "release",
    "release create": "release",
    "release verify": "public",  # anyone may check a bundle's signature
    "retention status": "retention.status",
    "retention enforce": "retention",
    "audit verify": "audit.read",
    "audit show": "audit.read",
    "audit repair": "audit.repair",
    "users": "users",  # add, list, remove
}


def action_of(path: str) -> str:
    """The action of a command path ('keys create' -> 'keys'); NotPermitted when none."""
    if path in COMMAND_ACTIONS:
        return COMMAND_ACTIONS[path]
    group = path.split(" ", 1)[0]
    if group in COMMAND_ACTIONS:
        return COMMAND_ACTIONS[group]
    raise NotPermitted(
        f"not permitted: `kluis {path}` has no role rule (kluis.access.commands.COMMAND_ACTIONS)"
    )


def _bootstrap(path: str, params: Mapping[str, Any], users: Users) -> None:
    account = current_account()
    if path == "users add":
        role = params.get("role")
        target = params.get("account") or params.get("name")
        if role == "steward" and target == account:
            return
        raise NotPermitted(
            f"not permitted: there are no users yet ({users.path}): the first user must be a "
            f"steward for this account: `kluis users add {account} --role steward`"
        )
    raise NotPermitted(f"not permitted: {no_user_hint(users, account)}")


def authorize(path: str, params: Mapping[str, Any], users: Users | None = None) -> User | None:
    """The acting user when they may run `kluis PATH` with `params`; None for the bootstrap
    command. NotPermitted (exit 3) otherwise."""
    users = users or Users()
    action = action_of(path)
    if not users.exists():
        _bootstrap(path, params, users)
        return None
    account = current_account()
    user = users.by_account(account)
    if user is None:
        raise NotPermitted(f"not permitted: {no_user_hint(users, account)}")
    allowed = PERMISSIONS[action]
    if user.role not in allowed:
        raise NotPermitted(
            f"not permitted: {user.name} ({user.role}) may not run `kluis {path}` "
            f"({action}: {', '.join(sorted(allowed))})"
        )
    return user
