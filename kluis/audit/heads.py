"""Heads of the log kept elsewhere: what an attacker who rewrites the log cannot reach.

At every publication (an extract, a release bundle, a destruction certificate) kluis appends a
`publish` record and a checkpoint signed by the steward's key, and writes that signed head
(position, hash, signature, and the hash of the log's first record) with what it publishes:
`OUT.audit-head.json` beside an extract directory OUT, `audit-head.json` inside a bundle, or
inside the certificate. Those copies sit in other directories or leave with the data; `kluis
audit verify` checks the log against every catalogued one (and `--against PATH`): a log shorter
than a head was rolled back or cut, a log with another hash there was rewritten, a head whose
signature fails was forged.

Beside the extract, not in it: the head changes with every run, and the extract directory must
stay byte-identical for the same inputs (manifest included). The head is a receipt of the
publication, not part of what was published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kluis.atomic import write_text
from kluis.audit.log import AuditLog, default_log_path
from kluis.audit.record import AuditError, checkpoint_message
from kluis.errors import BadInput
from kluis.jsonfile import read_json

HEAD_FILE = "audit-head.json"
FORMAT = 1


@dataclass(frozen=True)
class Head:
    """One certified position of the log, and where it was found."""

    source: str
    log: str
    first: str | None
    seq: int
    hash: str
    time: str
    label: str
    signer: str | None
    signature: str | None
    explicit: bool = False  # named on the command line: checked even if it names another log


def head_message(head: Head) -> bytes:
    """A head's signature is its checkpoint's: over the position and hash it certifies."""
    return checkpoint_message(head.seq, head.hash)


def signing_key() -> Any:
    """The steward's signing key when this process may use it, else None (unsigned heads)."""
    from kluis.access.signing import load_if_readable
    from kluis.home import keystore_dir

    return load_if_readable(keystore_dir())


def checkpoint(reason: str, log: AuditLog | None = None) -> dict:
    """Append a checkpoint (signed when the steward's key is readable) to the default log."""
    return (log or AuditLog(default_log_path())).checkpoint(signing_key(), reason)


def publication_head(label: str, *, deliberation: str | None = None, **details: Any) -> dict:
    """Record a publication and return its signed head (a JSON-able dict) to publish with it.

    Appends a `publish` record (label, deliberation, details such as the manifest hash) and a
    checkpoint certifying it, signed by the steward's key when this process can read it."""
    log = AuditLog(default_log_path())
    log.append("publish", event="publish", deliberation=deliberation, label=label, **details)
    cp = checkpoint(f"publish {label}", log)
    first = log.first()
    d = cp["details"]
    return {
        "kluis_audit_head": FORMAT,
        "log": str(log.path),
        "first": None if first is None else first["hash"],
        "seq": d["seq"],
        "hash": d["hash"],
        "time": cp["time"],
        "label": label,
        "signer": d["signer"],
        "signature": d["signature"],
    }


def receipt_path(target: Path | str) -> Path:
    """Where the head of a published directory goes: `TARGET.audit-head.json` beside it."""
    target = Path(target).absolute()
    return target.parent / f"{target.name}.{HEAD_FILE}"


def write_head(path: Path | str, label: str, **details: Any) -> Path:
    """Record a publication and write its signed head to `path`: a directory gets
    `audit-head.json` inside (e.g. a bundle's staging directory, before it is published), any
    other path is the file itself (e.g. `receipt_path(extract_dir)`)."""
    head = publication_head(label, **details)
    p = Path(path)
    file = p / HEAD_FILE if p.is_dir() else p
    write_text(file, json.dumps(head, indent=1, sort_keys=True) + "\n", mode=0o644)
    return file


def head_from(data: object, source: str, *, explicit: bool = False) -> Head:
    """A Head from its JSON form; BadInput naming `source` when it is not one."""
    try:
        assert isinstance(data, dict) and data.get("kluis_audit_head") == FORMAT
        seq, hash_ = data["seq"], data["hash"]
        assert type(seq) is int and seq >= 0 and isinstance(hash_, str) and len(hash_) == 64
        return Head(
            source=source,
            log=str(data["log"]),
            first=data.get("first"),
            seq=seq,
            hash=hash_,
            time=str(data.get("time", "")),
            label=str(data.get("label", "")),
            signer=data.get("signer"),
            signature=data.get("signature"),
            explicit=explicit,
        )
    except (AssertionError, KeyError, TypeError):
        raise BadInput(f"{source}: not a kluis audit head") from None


def read_head(path: Path | str, *, explicit: bool = False) -> Head:
    """The head in `path`: a directory with `audit-head.json` inside or beside it, that file, or
    a destruction certificate (which holds its head under "head")."""
    p = Path(path)
    file = p
    if p.is_dir():
        file = p / HEAD_FILE if (p / HEAD_FILE).is_file() else receipt_path(p)
    try:
        data = read_json(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{file}: cannot read an audit head ({exc})") from None
    if isinstance(data, dict) and "head" in data and "kluis_audit_head" not in data:
        data = data["head"]
    return head_from(data, str(file), explicit=explicit)


def known_heads(public_key: Any = None) -> list[Head]:
    """Every head kluis published from this home: beside or in catalogued extracts, bundles
    and requests, and in destruction certificates (their own head, and the receipts of the
    extracts they destroyed). A head file that is there but unreadable is a failure, and so is
    a certificate whose signature does not verify with `public_key` (when given)."""
    from kluis.audit.catalogue import entries
    from kluis.home import certificates_dir

    heads = []
    for entry in entries():
        for file in (Path(entry.path) / HEAD_FILE, receipt_path(entry.path)):
            if file.is_file():
                heads.append(_known(file))
    cert_dir = certificates_dir()
    for file in sorted(cert_dir.glob("*.json")) if cert_dir.is_dir() else []:
        heads += certificate_heads(file, public_key)
    return heads


def certificate_heads(file: Path, public_key: Any = None) -> list[Head]:
    """The heads a destruction certificate holds; AuditError when it was changed (its
    signature fails) or cannot be read."""
    from kluis.access.signing import verify_b64
    from kluis.audit.record import canonical

    try:
        cert = read_json(file)
        assert isinstance(cert, dict) and "head" in cert
    except (OSError, UnicodeDecodeError, ValueError, AssertionError):
        raise AuditError(
            f"{file}: not a readable destruction certificate", kind="damaged"
        ) from None
    if public_key is not None:
        body = {k: v for k, v in cert.items() if k != "signature"}
        if not verify_b64(public_key, cert.get("signature"), canonical(body).encode("utf-8")):
            raise AuditError(
                f"{file}: bad signature: the destruction certificate does not verify with the "
                "steward's key (it was changed or signed by another key)",
                kind="bad signature",
            )
    try:
        heads = [head_from(cert["head"], f"{file} (certificate)")]
        for i, h in enumerate(cert.get("heads") or []):
            heads.append(head_from(h, f"{file} (receipt {i + 1} of a destroyed item)"))
    except BadInput as exc:
        raise AuditError(f"{exc}: it was changed or damaged", kind="damaged") from None
    return heads


def _known(file: Path) -> Head:
    try:
        return read_head(file)
    except BadInput as exc:
        raise AuditError(f"{exc}: it was changed or damaged", kind="damaged") from None
