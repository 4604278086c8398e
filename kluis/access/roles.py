"""What each role may do, and the one check every command makes before it does anything.

The acting user on the command line is the user whose `account` is this process's OS account.
A refusal is a `NotPermitted` (exit 3) naming the user, the role and the action.
"""

from __future__ import annotations

from kluis.access.users import User, Users, current_account
from kluis.errors import NotPermitted

#: action -> roles allowed to take it
PERMISSIONS: dict[str, frozenset[str]] = {
    "warehouse": frozenset({"steward"}),
    "keys": frozenset({"steward"}),
    "extract": frozenset({"steward"}),
    "read-full": frozenset({"steward"}),  # full-phase data outside the enclave
    "enclave.run": frozenset({"researcher", "steward"}),
    "tables": frozenset({"steward", "checker"}),
    "risk": frozenset({"steward"}),  # measure and lower the risk of data that leave
    "review.decide": frozenset({"checker"}),
    "release": frozenset({"steward", "checker"}),
    "retention": frozenset({"steward"}),
    "users": frozenset({"steward"}),
}


def acting_user(users: Users | None = None) -> User:
    """The kluis user of this process; NotPermitted when the account is not a kluis user."""
    users = users or Users()
    account = current_account()
    user = users.by_account(account)
    if user is None:
        hint = (
            f"no users file at {users.path}: create the first steward with "
            f"`kluis users add {account} --role steward`"
            if not users.exists()
            else f"account {account!r} is not a user in {users.path}"
        )
        raise NotPermitted(f"not permitted: {hint}")
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
