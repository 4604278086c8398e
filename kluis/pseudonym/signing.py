"""The steward's Ed25519 signing key, for a `KeyStore` (see `kluis.access.signing`).

It signs release bundles, audit checkpoints and destruction certificates; only its public key
ever leaves the key store. The implementation lives beside every stage in `kluis.access.signing`
because the audit log signs with it too; this module keeps the names the release uses.
"""

from __future__ import annotations

from pathlib import Path

from kluis.access import signing as _core
from kluis.access.signing import (
    PRIVATE,
    PUBLIC,
    SigningKey,
    SigningKeyError,
    load_public,
    public_fingerprint,
    public_pem,
    verify_b64,
    verify_signature,
)
from kluis.pseudonym.keystore import KeyStore

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "SigningKey",
    "SigningKeyError",
    "create_signing_key",
    "load_public",
    "load_signing_key",
    "public_fingerprint",
    "public_path",
    "public_pem",
    "verify_b64",
    "verify_signature",
]


def create_signing_key(store: KeyStore) -> SigningKey:
    """Create the signing key in `store`; refuses to replace one."""
    return _core.create(store.root)


def load_signing_key(store: KeyStore) -> SigningKey:
    """The signing key of `store`; refuses a file others can read."""
    return _core.load(store.root)


def public_path(store: KeyStore) -> Path:
    """Where the public key of `store` is (to publish beside a release)."""
    return _core.paths(store.root)[1]
