"""kluis.atomic.locked(remove=True): nothing is left beside the target, and exclusion holds even
for a run that opened the lock file just before its holder removed it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kluis import atomic


def test_the_lock_file_is_removed_on_release(tmp_path: Path):
    target = tmp_path / "out"
    with atomic.locked(target, remove=True) as lock:
        assert lock.exists()
        with pytest.raises(BlockingIOError), atomic.locked(target, wait=False):
            pass
    assert list(tmp_path.iterdir()) == []


def test_exclusion_holds_while_lock_files_come_and_go(tmp_path: Path):
    """Many waiters: each holder deletes the file it locked; whoever then gets the lock of a
    deleted file must take a fresh one. Never two inside at once."""
    target = tmp_path / "out"
    inside = 0
    overlaps = 0
    entered = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, overlaps, entered
        for _ in range(5):
            with atomic.locked(target, remove=True):
                with guard:
                    inside += 1
                    entered += 1
                    overlaps += inside > 1
                time.sleep(0.002)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert entered == 40 and overlaps == 0
    assert list(tmp_path.iterdir()) == []
