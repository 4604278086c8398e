"""Per-deliberation secret keys, kept in a key store outside every extract.

One key per deliberation (project): the same key gives the same pseudonyms in every year and
table of that project, and two projects (two keys) cannot be linked. The key never leaves this
module except as bytes handed to `kluis.pseudonym.mapping`; manifests carry only its fingerprint.

Key files are `<store>/<slug>.key` (JSON: deliberation, created, key as hex) with mode 0600 in a
directory with mode 0700. A key file that others may read is refused rather than used, because a
leaked key lets anyone with the warehouse re-identify every pseudonym.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kluis.errors import BadInput

KEY_BYTES = 32
ENV_VAR = "KLUIS_KEYSTORE"
_NUMBER = re.compile(r"^(\d{2})[/-](\d{3})$")


class KeyStoreError(BadInput):
    """A key is missing, already exists, or its file is unsafe."""


def default_keystore() -> Path:
    """The key store directory: $KLUIS_KEYSTORE, else $KLUIS_HOME/keys (see kluis.home)."""
    from kluis.home import keystore_dir

    return keystore_dir()


def deliberation_slug(deliberation: str) -> str:
    """'26/104' or '26-104' -> '26-104'; anything else is an error naming the input."""
    m = _NUMBER.match(deliberation.strip())
    if not m:
        raise KeyStoreError(
            f"not a deliberation number: {deliberation!r} (expected NN/NNN, e.g. 26/104)"
        )
    return f"{m.group(1)}-{m.group(2)}"


def fingerprint(key: bytes) -> str:
    """Short public identifier of a key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class PseudonymKey:
    """The secret of one deliberation. `repr` never shows the key material."""

    deliberation: str  # slug, e.g. 26-104
    key: bytes = field(repr=False)
    created: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    def subkey(self, purpose: str) -> bytes:
        """An independent key per use (person pseudonyms, sample PRNs, employer pseudonyms), so
        that knowing one derived value says nothing about another."""
        return hmac.new(self.key, f"kluis/{purpose}/v1".encode(), hashlib.sha256).digest()


class KeyStore:
    """A directory of key files, one per deliberation."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_keystore()

    def path(self, deliberation: str) -> Path:
        if self.root.exists() and not self.root.is_dir():
            raise KeyStoreError(f"key store {self.root} is not a directory")
        return self.root / f"{deliberation_slug(deliberation)}.key"

    def exists(self, deliberation: str) -> bool:
        return self.path(deliberation).exists()

    def create(self, deliberation: str, *, today: dt.date | None = None) -> PseudonymKey:
        """Create a fresh random key; refuses to replace an existing one (that would silently
        start a new, unlinkable set of pseudonyms for the project)."""
        slug = deliberation_slug(deliberation)
        self.path(slug)  # refuses a key store that is not a directory
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        path = self.path(slug)
        key = PseudonymKey(
            deliberation=slug,
            key=secrets.token_bytes(KEY_BYTES),
            created=(today or dt.date.today()).isoformat(),
        )
        body = json.dumps(
            {"deliberation": slug, "created": key.created, "key": key.key.hex()}, indent=1
        ).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyStoreError(f"a key for deliberation {slug} already exists: {path}") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        return key

    def load(self, deliberation: str) -> PseudonymKey:
        """Read a key; refuses a file that group or others can access."""
        slug = deliberation_slug(deliberation)
        path = self.path(slug)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise KeyStoreError(
                f"no key for deliberation {slug} in {self.root} "
                f"(create one with `kluis keys create {slug}`)"
            ) from None
        except OSError as exc:
            raise KeyStoreError(f"cannot read key file {path}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise KeyStoreError(f"key file {path} is not a regular file")
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise KeyStoreError(
                f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600 "
                "(readable by its owner only) — refusing to use it"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key = bytes.fromhex(data["key"])
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"key file {path} is damaged: {exc}") from None
        if len(key) != KEY_BYTES or data.get("deliberation") != slug:
            raise KeyStoreError(f"key file {path} is damaged: wrong length or deliberation")
        return PseudonymKey(deliberation=slug, key=key, created=str(data.get("created", "")))

    def destroy(self, deliberation: str) -> str:
        """Overwrite the key file with random bytes, then delete it (used at retention: without
        the key the pseudonyms can never be linked back). Returns the destroyed key's
        fingerprint."""
        key = self.load(deliberation)
        path = self.path(deliberation)
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(secrets.token_bytes(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return key.fingerprint
