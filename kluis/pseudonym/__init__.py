"""kluis.pseudonym: per-deliberation keys and the keyed maps that replace identifiers."""

from kluis.pseudonym.keystore import (
    KeyStore,
    KeyStoreError,
    PseudonymKey,
    default_keystore,
    deliberation_slug,
    fingerprint,
)
from kluis.pseudonym.mapping import (
    EMPLOYER,
    PERSON,
    SAMPLE,
    keyed_digests,
    permanent_random_numbers,
    sequence_map,
)

__all__ = [
    "EMPLOYER",
    "PERSON",
    "SAMPLE",
    "KeyStore",
    "KeyStoreError",
    "PseudonymKey",
    "default_keystore",
    "deliberation_slug",
    "fingerprint",
    "keyed_digests",
    "permanent_random_numbers",
    "sequence_map",
]
