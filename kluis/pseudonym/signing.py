"""The steward's Ed25519 signing key: it signs release bundles, audit checkpoints and
destruction certificates. Only its public key ever leaves the key store.

Files: `<store>/signing.key` (PEM, PKCS#8, mode 0600) and `<store>/signing.pub` (PEM). Anyone can
verify with the public key (`verify_signature`); only the key store's owner can sign.
"""

from __future__ import annotations

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

from kluis.pseudonym.keystore import KeyStore, KeyStoreError, fingerprint

PRIVATE = "signing.key"
PUBLIC = "signing.pub"


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return fingerprint(raw)


def load_public(path: Path | str) -> Ed25519PublicKey:
    """A public key from a PEM file (e.g. the one published beside a release)."""
    p = Path(path)
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"{p}: not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyStoreError(f"{p}: not an Ed25519 public key")
    return key


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


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


def _paths(store: KeyStore) -> tuple[Path, Path]:
    return store.root / PRIVATE, store.root / PUBLIC


def create_signing_key(store: KeyStore) -> SigningKey:
    """Create the signing key; refuses to replace one (old signatures must stay verifiable)."""
    private_path, public_path = _paths(store)
    store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(store.root, 0o700)
    key = SigningKey(Ed25519PrivateKey.generate())
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyStoreError(f"a signing key already exists: {private_path}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    public_path.write_bytes(public_pem(key.public))
    return key


def load_signing_key(store: KeyStore) -> SigningKey:
    """The signing key; refuses a file others can read."""
    private_path, _ = _paths(store)
    try:
        mode = stat.S_IMODE(private_path.stat().st_mode)
    except FileNotFoundError:
        raise KeyStoreError(
            f"no signing key in {store.root} (create it with `kluis keys release-key`)"
        ) from None
    if mode & 0o077:
        raise KeyStoreError(f"signing key {private_path} has mode {mode:04o}; it must be 0600")
    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except ValueError as exc:
        raise KeyStoreError(f"signing key {private_path} is damaged: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyStoreError(f"signing key {private_path} is not an Ed25519 key")
    return SigningKey(key)
