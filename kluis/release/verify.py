"""Check a release bundle: every file against release.json, release.json against its signature.

Each problem is one line naming the file and what is wrong: a file changed (sha256 differs), a
file added (not in release.json), a file removed, release.json changed after it was signed, a
signature by another key than the release key, a link or a path leaving the bundle.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kluis.jsonfile import loads, read_json
from kluis.pseudonym.signing import public_fingerprint, verify_signature
from kluis.release.bundle import RELEASE_FILE, SIGNATURE_FILE
from kluis.review.store import sha256_file


@dataclass
class Verification:
    bundle: Path
    manifest: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _signature(bundle: Path, manifest_bytes: bytes, expected: Ed25519PublicKey) -> list[str]:
    path = bundle / SIGNATURE_FILE
    if not path.is_file():
        return [f"{SIGNATURE_FILE}: missing (the bundle is not signed)"]
    try:
        sig = read_json(path)
        signature = base64.b64decode(sig["signature"], validate=True)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        return [f"{SIGNATURE_FILE}: not a kluis signature file"]
    if verify_signature(expected, signature, manifest_bytes):
        return []
    want = public_fingerprint(expected)
    try:
        signer = load_pem_public_key(str(sig.get("public_key", "")).encode())
    except ValueError:
        signer = None
    if isinstance(signer, Ed25519PublicKey) and verify_signature(signer, signature, manifest_bytes):
        return [
            f"{SIGNATURE_FILE}: signed by another key (fingerprint {public_fingerprint(signer)}), "
            f"not the release key {want}"
        ]
    return [
        f"{RELEASE_FILE}: changed after it was signed (the signature by the release key {want} "
        "does not match its content)"
    ]


def _present(bundle: Path) -> tuple[dict[str, Path], list[str]]:
    """Every file in the bundle (relative path -> path) except the manifest and signature;
    links and special files are problems."""
    found: dict[str, Path] = {}
    problems = []
    for dirpath, dirs, names in os.walk(bundle, followlinks=False):
        for d in list(dirs):
            p = Path(dirpath) / d
            if p.is_symlink():
                problems.append(f"{p.relative_to(bundle).as_posix()}: a link (not allowed)")
                dirs.remove(d)
        for n in names:
            p = Path(dirpath) / n
            rel = p.relative_to(bundle).as_posix()
            if rel in (RELEASE_FILE, SIGNATURE_FILE):
                continue
            if p.is_symlink() or not p.is_file():
                problems.append(f"{rel}: not a regular file (added)")
                continue
            found[rel] = p
    return found, problems


def verify_bundle(bundle: Path | str, public: Ed25519PublicKey) -> Verification:
    """Everything that does not match, file by file (empty `problems` means verified)."""
    bundle = Path(bundle)
    v = Verification(bundle)
    manifest_path = bundle / RELEASE_FILE
    for name in (RELEASE_FILE, SIGNATURE_FILE):
        if (bundle / name).is_symlink():
            v.problems.append(f"{name}: a link (not allowed)")
    try:
        manifest_bytes = manifest_path.read_bytes()
    except OSError:
        v.problems.append(f"{RELEASE_FILE}: missing")
        return v
    v.problems += _signature(bundle, manifest_bytes, public)
    try:
        v.manifest = loads(manifest_bytes, RELEASE_FILE)
        listed = v.manifest["files"]
        if not isinstance(listed, dict):
            raise TypeError
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        v.problems.append(f"{RELEASE_FILE}: not a release manifest (no `files` mapping)")
        return v
    present, problems = _present(bundle)
    v.problems += problems
    root = bundle.resolve()
    for rel, digest in sorted(listed.items()):
        target = (bundle / rel).resolve()
        if Path(rel).is_absolute() or root not in target.parents:
            v.problems.append(f"{RELEASE_FILE}: file {rel!r} is not inside the bundle")
            continue
        if rel not in present:
            v.problems.append(f"{rel}: removed (listed in {RELEASE_FILE}, not in the bundle)")
            continue
        actual = sha256_file(present[rel])
        if actual != digest:
            v.problems.append(
                f"{rel}: changed (sha256 {actual[:16]}…, {RELEASE_FILE} says {str(digest)[:16]}…)"
            )
        v.files += 1
    for rel in sorted(set(present) - set(listed)):
        v.problems.append(f"{rel}: added (not listed in {RELEASE_FILE})")
    return v
