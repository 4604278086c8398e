"""The users file: local users with one role each and an argon2 password hash.

One file (`$KLUIS_HOME/users.yaml`, mode 0600) serves both the command line and the review web
application. On the command line a user is the operating-system account running kluis (the
`account` field, by default the user's name): `$USER` can be set by anyone, the process's real
uid cannot. In the web application a user signs in with name and password.

    users:
      - name: anna
        role: checker
        account: anna            # OS account; defaults to name
        password: $argon2id$...  # argon2 hash; never the password itself
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kluis.errors import BadInput, Refused

ROLES = ("steward", "checker", "researcher")
MAX_BYTES = 1 << 20
_hasher = PasswordHasher()


class _NoAliases(yaml.SafeLoader):
    """A users file has no use for YAML aliases; refusing them stops an alias bomb."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases are not allowed in the users file", event.start_mark
            )
        return super().compose_node(parent, index)


def _valid_name(text: str) -> bool:
    return bool(text) and text.replace("-", "").replace("_", "").replace(".", "").isalnum()


class UsersError(BadInput):
    """The users file cannot be read or a user cannot be added."""


def current_account() -> str:
    """The operating-system account of this process (its real uid, not `$USER`)."""
    return pwd.getpwuid(os.getuid()).pw_name


@dataclass(frozen=True)
class User:
    name: str
    role: str
    account: str
    password_hash: str = field(default="", repr=False)

    def check_password(self, password: str) -> bool:
        """True when `password` matches; constant-time in argon2."""
        if not self.password_hash:
            return False
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class Users:
    """The users file: read, look up, add (written atomically with mode 0600)."""

    def __init__(self, path: Path | str | None = None) -> None:
        from kluis.home import users_path

        self.path = Path(path) if path is not None else users_path()

    def exists(self) -> bool:
        """True when there is a users file (or something in its place, which `all` refuses)."""
        return os.path.lexists(self.path)

    def all(self) -> list[User]:
        if not self.exists():
            return []
        if not self.path.is_file():
            raise UsersError(f"{self.path}: the users file is not a regular file")
        try:
            if self.path.stat().st_size > MAX_BYTES:
                raise UsersError(f"{self.path}: the users file is larger than {MAX_BYTES} bytes")
            data = yaml.load(self.path.read_text(encoding="utf-8"), Loader=_NoAliases) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsersError(f"{self.path}: cannot read the users file: {first}") from None
        rows = data.get("users") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise UsersError(f"{self.path}: expected a mapping with a list `users`")
        out = []
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or row.get("role") not in ROLES or not row.get("name"):
                raise UsersError(
                    f"{self.path}: users[{i}]: needs a name and a role ({', '.join(ROLES)})"
                )
            name = str(row["name"])
            out.append(
                User(name, row["role"], str(row.get("account") or name), row.get("password", ""))
            )
        return out

    def get(self, name: str) -> User | None:
        return next((u for u in self.all() if u.name == name), None)

    def by_account(self, account: str) -> User | None:
        return next((u for u in self.all() if u.account == account), None)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, when name and password match; None otherwise (same work either way)."""
        user = self.get(name)
        if user is None:
            hash_password(password)  # spend the same time as a real check
            return None
        return user if user.check_password(password) else None

    def add(self, name: str, role: str, password: str, account: str | None = None) -> User:
        """Add a user (name and account unique); the password is stored as an argon2 hash."""
        if role not in ROLES:
            raise UsersError(f"role {role!r}: choose one of {', '.join(ROLES)}")
        if not _valid_name(name):
            raise UsersError(f"user name {name!r}: letters, digits, '-', '_' and '.' only")
        account = account or name
        if not _valid_name(account):
            raise UsersError(f"account {account!r}: letters, digits, '-', '_' and '.' only")
        if not password:
            raise UsersError(f"user {name!r}: the password is empty")
        users = self.all()
        if any(u.name == name for u in users):
            raise UsersError(f"{self.path}: a user {name!r} already exists")
        same = next((u for u in users if u.account == account), None)
        if same is not None:
            raise UsersError(f"{self.path}: account {account!r} is already user {same.name!r}")
        user = User(name, role, account, hash_password(password))
        self._write([*users, user])
        return user

    def remove(self, name: str) -> User:
        """Remove a user; refuses to remove the last steward (nobody could add one again)."""
        users = self.all()
        user = next((u for u in users if u.name == name), None)
        if user is None:
            raise UsersError(f"{self.path}: no user {name!r}")
        rest = [u for u in users if u.name != name]
        if user.role == "steward" and not any(u.role == "steward" for u in rest):
            raise Refused(f"{name!r} is the last steward: add another steward first")
        self._write(rest)
        return user

    def _write(self, users: list[User]) -> None:
        rows = [
            {"name": u.name, "role": u.role, "account": u.account, "password": u.password_hash}
            for u in users
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"users": rows}, fh, sort_keys=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
