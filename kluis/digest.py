"""The SHA-256 of a file, read in blocks: what manifests, requests, releases and destruction
certificates record, computed one way everywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_file"]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes (1 MiB at a time: extracts hold large files)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
