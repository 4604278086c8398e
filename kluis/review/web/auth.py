"""Sign-in, sessions and CSRF tokens of the review application.

The browser holds a signed cookie (Starlette's SessionMiddleware, itsdangerous) that carries
only a random session id; the session itself (user name, CSRF token, times) lives in this
process. Signing out, or restarting the server, ends it for good: a copied cookie is worth
nothing afterwards. Every form carries the session's CSRF token and every POST is checked
against it, so a form posted from another site, from another session or after signing out is
refused. The cookie's secret is `$KLUIS_HOME/review-secret` (mode 0600, made on first serve).
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kluis.access import User, Users
from kluis.errors import BadInput

SESSION_HOURS = 8
IDLE_MINUTES = 60


def secret_path() -> Path:
    from kluis.home import home

    return home() / "review-secret"


def load_secret(path: Path | None = None) -> str:
    """The cookie-signing secret, created (0600) on first use; refuses one others can read."""
    path = path or secret_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise BadInput(f"{path} has mode {mode:04o}; it must be 0600") from None
        text = path.read_text(encoding="utf-8").strip()
        if len(text) < 32:
            raise BadInput(f"{path}: the session secret is too short") from None
        return text
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path.read_text(encoding="utf-8").strip()


@dataclass
class Session:
    user: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: float = field(default_factory=time.time)
    seen: float = field(default_factory=time.time)
    flash: str = ""  # a message for the next page (after a redirect)


class Sessions:
    """The signed-in sessions of this server process."""

    def __init__(self, users: Users) -> None:
        self.users = users
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, user: User) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[sid] = Session(user.name)
        return sid

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def get(self, sid: str | None) -> tuple[Session, User] | None:
        """The live session and its user (re-read from the users file, so a removed user or a
        changed role takes effect at once); None when signed out or expired."""
        if not sid:
            return None
        now = time.time()
        with self._lock:
            s = self._by_id.get(sid)
            if s is None:
                return None
            if now - s.started > SESSION_HOURS * 3600 or now - s.seen > IDLE_MINUTES * 60:
                del self._by_id[sid]
                return None
            s.seen = now
        user = self.users.get(s.user)
        if user is None:
            self.end(sid)
            return None
        return s, user


class Throttle:
    """At most MAX_FAILURES failed sign-ins per name in WINDOW seconds: guessing passwords
    through the form is slow even before argon2's own cost."""

    MAX_FAILURES = 10
    WINDOW = 15 * 60

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        now = time.time()
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if now - t < self.WINDOW]
            self._failures[name] = recent
            return len(recent) >= self.MAX_FAILURES

    def failed(self, name: str) -> None:
        with self._lock:
            self._failures.setdefault(name, []).append(time.time())

    def cleared(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def token_matches(expected: str | None, given: object) -> bool:
    """Constant-time comparison of a CSRF token (missing or empty never matches)."""
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and secrets.compare_digest(expected.encode(), given.encode())
    )
