"""The steward's Ed25519 signing key: it signs release bundles, audit checkpoints and
destruction certificates. Only its public key ever leaves the key store.

Files in the key store directory: `signing.key` (PEM, PKCS#8, mode 0600) and `signing.pub`
(PEM). Anyone can verify with the public key (`verify_signature`); only the key store's owner can
sign. This module sits beside every stage (like `kluis.atomic`) because the audit log signs its
checkpoints with it; `kluis.pseudonym.signing` offers the same functions for a `KeyStore`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from kluis.atomic import write_bytes
from kluis.errors import BadInput

PRIVATE = "signing.key"
PUBLIC = "signing.pub"


class SigningKeyError(BadInput):
    """The signing key is missing, already exists, or its file is unsafe or damaged."""


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_fingerprint(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key (as shown everywhere)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public(path: Path | str) -> Ed25519PublicKey:
    """A public key from a PEM file (e.g. the one published beside a release)."""
    p = Path(path)
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{p}: not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{p}: not an Ed25519 public key")
    return key


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def verify_b64(public: Ed25519PublicKey, signature: str | None, message: bytes) -> bool:
    """`verify_signature` for a base64 text signature (as stored in JSON); False if malformed."""
    if not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    return verify_signature(public, raw, message)


@dataclass(frozen=True)
class SigningKey:
    """The steward's signing key; `repr` never shows the private key."""

    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        return public_fingerprint(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def sign_b64(self, message: bytes) -> str:
        return base64.b64encode(self.sign(message)).decode("ascii")


def paths(directory: Path) -> tuple[Path, Path]:
    """(private, public) key files in a key store directory."""
    return Path(directory) / PRIVATE, Path(directory) / PUBLIC


def create(directory: Path) -> SigningKey:
    """Create the signing key; refuses to replace one (old signatures must stay verifiable)."""
    private_path, public_path = paths(directory)
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(private_path.parent, 0o700)
    key = SigningKey(Ed25519PrivateKey.generate())
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"a signing key already exists: {private_path}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    write_bytes(public_path, public_pem(key.public), mode=0o644)
    return key


def load(directory: Path) -> SigningKey:
    """The signing key; refuses a file others can read. Rewrites a missing public key file."""
    private_path, public_path = paths(directory)
    try:
        mode = stat.S_IMODE(private_path.stat().st_mode)
    except FileNotFoundError:
        raise SigningKeyError(
            f"no signing key in {private_path.parent} (create it with `kluis keys release-key`)"
        ) from None
    except OSError as exc:
        raise SigningKeyError(f"signing key {private_path}: {exc.strerror}") from None
    if mode & 0o077:
        raise SigningKeyError(f"signing key {private_path} has mode {mode:04o}; it must be 0600")
    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningKeyError(
            f"signing key {private_path} is damaged or unreadable: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key {private_path} is not an Ed25519 key")
    signing = SigningKey(key)
    if not public_path.exists():  # a run killed between the two files
        write_bytes(public_path, public_pem(signing.public), mode=0o644)
    return signing


def load_if_readable(directory: Path) -> SigningKey | None:
    """The signing key when this process may use it (the steward's account), else None."""
    try:
        return load(directory)
    except SigningKeyError:
        return None


def default_public(directory: Path) -> Ed25519PublicKey | None:
    """The public key in a key store directory, or None when there is none."""
    _, public_path = paths(directory)
    if not public_path.exists():
        return None
    return load_public(public_path)
