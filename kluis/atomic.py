"""Atomic publication: a file or a directory appears whole or not at all.

Everything kluis writes for someone else (extracts, warehouses, reports, requests, bundles,
release histories) is written into a hidden temporary beside its target (same file system), synced,
and put in place with one rename, or an atomic exchange with the previous version (Linux
renameat2 RENAME_EXCHANGE). A run killed at any moment leaves either the old target or the new
one, and a hidden temporary that `remove_stale` deletes once its process is gone.

Temporaries are named `.<target>.<tag>-<pid>-<random>` so that the owner of a leftover is known.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<tag>tmp|work|old)-(?P<pid>\d+)-[0-9a-f]+$")


def temp_path(final: Path, tag: str = "tmp") -> Path:
    """A fresh hidden name beside `final` for this process (not created)."""
    final = Path(final).absolute()
    return final.parent / f".{final.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def staging_dir(final: Path, tag: str = "tmp") -> Path:
    """Create a private (0700) hidden directory beside `final` to build it in."""
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final)
    path = temp_path(final, tag)
    path.mkdir(mode=0o700)
    return path


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temporaries(final: Path) -> list[Path]:
    """Leftover temporaries of `final` whose process no longer exists."""
    final = Path(final).absolute()
    out = []
    if not final.parent.is_dir():
        return out
    for p in final.parent.glob(f".{final.name}.*-*"):
        m = _TEMP.match(p.name)
        if m and m.group("name") == final.name and not process_alive(int(m.group("pid"))):
            out.append(p)
    return out


def remove_stale(final: Path) -> list[Path]:
    """Delete the leftovers of killed runs beside `final`; returns what was removed."""
    removed = stale_temporaries(final)
    for p in removed:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return removed


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and directory under `root` to disk."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    fn = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish_dir(tmp: Path, final: Path) -> None:
    """Put the finished directory `tmp` in place of `final` (replacing a previous version in one
    atomic step where the kernel allows it). The caller has checked that `final` may be
    replaced."""
    tmp, final = Path(tmp), Path(final)
    fsync_tree(tmp)
    if not final.exists():
        os.rename(tmp, final)
    elif _exchange(tmp, final):
        shutil.rmtree(tmp)  # tmp now holds the previous version
    else:  # no atomic exchange: keep the old version recoverable until the new one is in place
        old = temp_path(final, "old")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    fsync_dir(final.parent)


def write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a file atomically (temporary, fsync, rename) with `mode`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


@contextmanager
def locked(target: Path, *, wait: bool = True, remove: bool = False) -> Iterator[Path]:
    """An exclusive lock on `target` (a `.<name>.lock` file beside it), held for the block:
    two runs into one target are serialised (or, with wait=False, the second raises
    BlockingIOError). With remove=True the lock file is deleted on release, so nothing is left
    beside the target; a run that opened the file just before it was deleted sees that its lock
    is on a deleted file and takes a fresh one."""
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            current = os.stat(lock).st_ino
        except FileNotFoundError:
            current = None
        except BaseException:
            os.close(fd)
            raise
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the previous holder removed the file meanwhile: lock the new one
    try:
        yield lock
    finally:
        if remove:
            lock.unlink(missing_ok=True)  # still held: nobody can take the deleted file's lock
        os.close(fd)
