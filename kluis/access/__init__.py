"""Who may do what: the users of kluis, their roles, and the check every command makes.

Public API: `Users` (the users file), `User`, `ROLES`, `current_account()`, `require(action)`.
"""

from kluis.access.roles import PERMISSIONS, acting_user, require
from kluis.access.users import ROLES, User, Users, UsersError, current_account

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "User",
    "Users",
    "UsersError",
    "acting_user",
    "current_account",
    "require",
]
