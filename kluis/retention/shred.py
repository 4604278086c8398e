"""Destroying one item, so that a run killed at any moment can simply be run again.

A directory is first renamed to a hidden tombstone beside it (one atomic step: nothing is ever
left at its path looking like a whole extract), then deleted. A file is overwritten with random
bytes, synced, then unlinked: for the key, that is crypto-shredding — without it the
pseudonyms can never be linked back to persons, whatever copies of the data survive. (On
copy-on-write or flash storage an overwrite is not guaranteed to reach the old blocks; the
guarantee is the key's, whose only copy is in the key store.)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

from kluis.atomic import fsync_dir
from kluis.digest import sha256_file as _file_sha


def tree_digest(path: Path) -> dict:
    """What is destroyed, as evidence: the SHA-256 over every file's relative path and
    SHA-256, with file and byte counts. A single file: its own SHA-256."""
    path = Path(path)
    if path.is_file() and not path.is_symlink():
        return {"sha256": _file_sha(path), "files": 1, "bytes": path.stat().st_size}
    h = hashlib.sha256()
    files = size = 0
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            f = Path(root) / name
            if f.is_symlink() or not f.is_file():
                continue
            rel = f.relative_to(path).as_posix()
            h.update(f"{rel}\0{_file_sha(f)}\n".encode())
            files += 1
            size += f.stat().st_size
    return {"sha256": h.hexdigest(), "files": files, "bytes": size}


def shred_file(path: Path) -> None:
    """Overwrite with random bytes, sync, unlink, sync the directory. Idempotent."""
    path = Path(path)
    if path.is_symlink():
        path.unlink()
        return
    if not path.exists():
        return
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        left = size
        while left > 0:
            chunk = min(left, 1 << 20)
            fh.write(secrets.token_bytes(chunk))
            left -= chunk
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink()
    fsync_dir(path.parent)


def tombstone(path: Path, run_id: str) -> Path:
    """The hidden name a directory is moved to while it is deleted."""
    path = Path(path).absolute()
    return path.parent / f".{path.name}.destroying-{run_id}"


def destroy(path: Path, run_id: str, *, overwrite: bool) -> None:
    """Destroy a file or directory at `path` (and its tombstone from an interrupted run)."""
    path = Path(path).absolute()
    tomb = tombstone(path, run_id)
    if path.is_dir() and not path.is_symlink():
        if tomb.exists():
            shutil.rmtree(tomb)
        os.rename(path, tomb)
        fsync_dir(path.parent)
    elif path.exists() or path.is_symlink():
        if overwrite:
            shred_file(path)
        else:
            path.unlink()
            fsync_dir(path.parent)
    if tomb.exists():
        _remove_tree(tomb, overwrite=overwrite)
        fsync_dir(path.parent)


def _remove_tree(root: Path, *, overwrite: bool) -> None:
    if overwrite:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                f = Path(dirpath) / name
                if not f.is_symlink():
                    shred_file(f)
    shutil.rmtree(root)
