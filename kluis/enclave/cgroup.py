"""A control group for one sandbox: a hard limit on its processes and its total memory.

RLIMIT_NPROC does not hold for root (the kernel exempts uid 0, also inside a user namespace that
maps to it), and RLIMIT_AS limits each process, not their sum. A cgroup does both, for root too:
`pids.max` and the memory limit cover every process the sandbox starts. Both cgroup v1 (separate
`pids` and `memory` hierarchies) and v2 (one unified tree) are handled; where neither can be
written (an unprivileged container), `create` returns None and the sandbox counts processes
itself (see kluis.enclave.sandbox).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller ('' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            out[ctrl] = parts[2]
    return out


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


@dataclass
class CGroup:
    """The directories of one sandbox's cgroup (one per v1 hierarchy, or one v2 directory)."""

    dirs: dict[str, Path]  # "pids" / "memory" (v1) or "unified" (v2) -> directory
    version: int
    created: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls, max_processes: int, memory_bytes: int) -> CGroup | None:
        """A fresh cgroup with both limits, or None when this machine does not let us."""
        name = f"kluis-enclave-{os.getpid()}-{secrets.token_hex(3)}"
        own = _own_paths()
        if (ROOT / "cgroup.controllers").is_file() and "" in own:  # pure v2
            return cls._create_v2(ROOT / own[""].lstrip("/"), name, max_processes, memory_bytes)
        if "pids" in own and (ROOT / "pids").is_dir():
            return cls._create_v1(own, name, max_processes, memory_bytes)
        return None

    @staticmethod
    def remove_stale(parent: Path) -> None:
        """Remove empty groups left by enclave runs that were killed (their pid is gone)."""
        for d in parent.glob("kluis-enclave-*-*") if parent.is_dir() else []:
            pid = d.name.split("-")[2]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):
                    d.rmdir()

    @classmethod
    def _create_v1(cls, own: dict[str, str], name: str, procs: int, mem: int) -> CGroup | None:
        group = cls(dirs={}, version=1)
        for ctrl in ("pids", "memory"):
            if ctrl not in own or not (ROOT / ctrl).is_dir():
                continue
            d = ROOT / ctrl / own[ctrl].lstrip("/") / name
            cls.remove_stale(d.parent)
            try:
                d.mkdir()
            except OSError:
                continue
            group.created.append(d)
            group.dirs[ctrl] = d
        ok = "pids" in group.dirs and _write(group.dirs["pids"] / "pids.max", str(procs))
        # a memory cgroup without its limit is useless: drop it when the limit cannot be set
        if (
            ok
            and "memory" in group.dirs
            and not _write(group.dirs["memory"] / "memory.limit_in_bytes", str(mem))
        ):
            group.dirs.pop("memory")
        if not ok:
            group.remove()
            return None
        return group

    @classmethod
    def _create_v2(cls, parent: Path, name: str, procs: int, mem: int) -> CGroup | None:
        try:
            enabled = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            return None
        if "pids" not in enabled and not _write(parent / "cgroup.subtree_control", "+pids"):
            return None
        if "memory" not in enabled:
            _write(parent / "cgroup.subtree_control", "+memory")
        d = parent / name
        cls.remove_stale(parent)
        try:
            d.mkdir()
        except OSError:
            return None
        group = cls(dirs={"unified": d}, version=2, created=[d])
        if not _write(d / "pids.max", str(procs)):
            group.remove()
            return None
        _write(d / "memory.max", str(mem))
        _write(d / "memory.swap.max", "0")
        return group

    @property
    def memory_limited(self) -> bool:
        if self.version == 2:
            return (self.dirs["unified"] / "memory.max").is_file()
        return "memory" in self.dirs

    def join(self) -> None:
        """Move the calling process into the group (called in the child before exec, so the
        sandbox and everything it starts are inside from their first instruction)."""
        pid = str(os.getpid())
        for d in self.dirs.values():
            (d / "cgroup.procs").write_text(pid)

    def pids(self) -> list[int]:
        d = self.dirs.get("pids") or self.dirs.get("unified")
        try:
            return [int(x) for x in (d / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def _count(self, file: str, key: str) -> int:
        for d in self.dirs.values():
            try:
                for line in (d / file).read_text().splitlines():
                    k, _, v = line.partition(" ")
                    if k == key:
                        return int(v)
            except (OSError, ValueError):
                continue
        return 0

    def hit_process_limit(self) -> bool:
        return self._count("pids.events", "max") > 0

    def hit_memory_limit(self) -> bool:
        if self.version == 2:
            return self._count("memory.events", "oom_kill") > 0
        return self._count("memory.oom_control", "oom_kill") > 0

    def kill(self) -> None:
        """SIGKILL every process in the group (until none is left or 5 s have passed)."""
        if self.version == 2 and _write(self.dirs["unified"] / "cgroup.kill", "1"):
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        for d in reversed(self.created):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.02)
