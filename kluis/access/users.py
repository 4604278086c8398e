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
FIELDS = ("name", "role", "account", "password")
_hasher = PasswordHasher()


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
        """Every user; UsersError (exit 2) naming the file, line and field of the first
        problem: the file decides who may do what, so nothing in it is guessed."""
        if not self.exists():
            return []
        from kluis.yamlfile import Limits, YamlFileError, read_yaml

        try:
            doc = read_yaml(
                self.path, limits=Limits(max_bytes=MAX_BYTES, aliases=False), what="users.yaml"
            )
        except YamlFileError as exc:
            where = f"{exc.source}:{exc.line}" if exc.line is not None else exc.source
            field_ = "" if exc.field == "(file)" else f"{exc.field}: "
            raise UsersError(
                f"{where}: cannot read the users file: {field_}{exc.message}"
            ) from None
        rows = doc.data.get("users")
        if not isinstance(rows, list):
            raise UsersError(
                f"{self.path}:{doc.line(('users',)) or 1}: expected a mapping with a list `users`"
            )
        out: list[User] = []
        for i, row in enumerate(rows):
            user = self._row(doc, i, row)
            for other in out:
                same = "name" if other.name == user.name else "account"
                if getattr(other, same) == getattr(user, same):
                    raise UsersError(
                        f"{self.path}:{doc.line(('users', i))}: users[{i}]: {same} "
                        f"{getattr(user, same)!r} is already users[{out.index(other)}]"
                    )
            out.append(user)
        return out

    def _row(self, doc, i: int, row: object) -> User:  # type: ignore[no-untyped-def]
        def fail(field_: str | None, message: str) -> UsersError:
            path = ("users", i) if field_ is None else ("users", i, field_)
            where = f"users[{i}]" + ("" if field_ is None else f".{field_}")
            return UsersError(f"{self.path}:{doc.line(path)}: {where}: {message}")

        if not isinstance(row, dict):
            raise fail(None, "needs a name and a role (" + ", ".join(ROLES) + ")")
        for key in row:
            if key not in FIELDS:
                raise fail(str(key), f"unknown field (a user has {', '.join(FIELDS)})")
        if row.get("role") not in ROLES or "name" not in row:
            raise fail(None, "needs a name and a role (" + ", ".join(ROLES) + ")")
        for key in ("name", "account"):
            value = row.get(key)
            if key in row and not (isinstance(value, str) and _valid_name(value)):
                raise fail(key, "letters, digits, '-', '_' and '.' only")
        password = row.get("password") or ""
        if not isinstance(password, str):
            raise fail("password", "must be an argon2 hash (text)")
        return User(row["name"], row["role"], row.get("account") or row["name"], password)

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
        with self._locked():
            return self._add(name, role, password, account)

    def _locked(self):  # type: ignore[no-untyped-def]
        """Adds and removes one at a time: two at once would each write the file as they read
        it, and one user would be lost."""
        from kluis.atomic import locked

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return locked(self.path, remove=True)

    def _add(self, name: str, role: str, password: str, account: str) -> User:
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
        with self._locked():
            return self._remove(name)

    def _remove(self, name: str) -> User:
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
        """Atomically (a killed run leaves the old file whole, and a temporary that the next
        write removes), mode 0600."""
        from kluis.atomic import remove_stale, write_bytes

        rows = [
            {"name": u.name, "role": u.role, "account": u.account, "password": u.password_hash}
            for u in users
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale(self.path)
        text = yaml.safe_dump({"users": rows}, sort_keys=False)
        write_bytes(self.path, text.encode("utf-8"), mode=0o600)
