"""Who may do what: the users of kluis, their roles, the one check every command makes, and
the steward's signing key.

Public API: `Users` (the users file), `User`, `ROLES`, `current_account()`, `require(action)`,
`authorize(path, params)` and `COMMAND_ACTIONS` (kluis.access.commands), `identify()`,
and `kluis.access.signing` (the steward's Ed25519 key).
"""

from kluis.access.commands import COMMAND_ACTIONS, action_of, authorize
from kluis.access.identity import identify
from kluis.access.roles import PERMISSIONS, acting_user, require
from kluis.access.users import ROLES, User, Users, UsersError, current_account

__all__ = [
    "COMMAND_ACTIONS",
    "PERMISSIONS",
    "ROLES",
    "User",
    "Users",
    "UsersError",
    "acting_user",
    "action_of",
    "authorize",
    "current_account",
    "identify",
    "require",
]
