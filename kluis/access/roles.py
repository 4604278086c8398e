"""What each role may do, and the one check every command makes before it does anything.

The acting user on the command line is the user whose `account` is this process's OS account.
A refusal is a `NotPermitted` (exit 3) naming the user, the role and the action.

    steward     runs the warehouse, keys, extracts, retention and users; releases
    checker     checks outputs (tables, review), releases; never runs code or extracts
    researcher  runs code in the enclave on its own extract; nothing else
"""

from __future__ import annotations

from kluis.access.users import User, Users, current_account
from kluis.errors import NotPermitted

_ALL = frozenset({"steward", "checker", "researcher"})

#: action -> roles allowed to take it
PERMISSIONS: dict[str, frozenset[str]] = {
    "public": _ALL,  # read public things: deliberation texts, a release's signature
    "warehouse": frozenset({"steward"}),  # the warehouse holds identified persons
    "keys": frozenset({"steward"}),
    "registry": frozenset({"steward"}),  # which deliberations are in force, ended, extended
    "extract": frozenset({"steward"}),
    "read-full": frozenset({"steward"}),  # full-phase data outside the enclave
    "risk": frozenset({"steward", "checker"}),
    "enclave.run": frozenset({"researcher", "steward"}),
    "tables": frozenset({"steward", "checker"}),
    "review.serve": frozenset({"steward", "checker"}),
    "review.decide": frozenset({"checker"}),
    "release": frozenset({"steward", "checker"}),
    "retention.status": frozenset({"steward", "checker"}),
    "retention": frozenset({"steward"}),  # destroys
    "audit.read": frozenset({"steward", "checker"}),
    "audit.repair": frozenset({"steward"}),
    "users": frozenset({"steward"}),
}


def no_user_hint(users: Users, account: str) -> str:
    if not users.exists():
        return (
            f"no users file at {users.path}: create the first steward with "
            f"`kluis users add {account} --role steward`"
        )
    return (
        f"account {account!r} is not a kluis user in {users.path}; a steward adds it with "
        f"`kluis users add NAME --role ROLE --account {account}`"
    )


def acting_user(users: Users | None = None) -> User:
    """The kluis user of this process; NotPermitted when the account is not a kluis user."""
    users = users or Users()
    account = current_account()
    user = users.by_account(account)
    if user is None:
        raise NotPermitted(f"not permitted: {no_user_hint(users, account)}")
    return user


def require(action: str, users: Users | None = None) -> User:
    """The acting user, when their role allows `action`; NotPermitted otherwise."""
    allowed = PERMISSIONS[action]
    user = acting_user(users)
    if user.role not in allowed:
        raise NotPermitted(
            f"not permitted: {user.name} ({user.role}) may not {action}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return user
