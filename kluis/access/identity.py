"""Who this process is, for the audit log: the kluis user of the OS account, never `$USER`."""

from __future__ import annotations

from kluis.access.users import Users, UsersError, current_account


def identify(users: Users | None = None) -> tuple[str | None, str, str | None]:
    """(kluis user name or None, OS account, role or None). Never raises: a missing or damaged
    users file gives an unknown user, which the record shows as such."""
    account = current_account()
    try:
        user = (users or Users()).by_account(account)
    except UsersError:
        user = None
    if user is None:
        return None, account, None
    return user.name, account, user.role
