"""Run one researcher program under bubblewrap, with limits, and say how it ended.

The sandbox (`bwrap`) unshares every namespace (no network: only a loopback of its own; its own
process ids, hostname, IPC and user ids), dies with its parent, starts a new session (no terminal
injection), clears the environment and drops every capability. It sees the system's `/usr` and
libraries, the Python installation and kluis (read-only), and exactly the mounts it is given:
the project and the extract read-only, an outbox writable, a private /tmp of bounded size.
No key store, warehouse, other extract, $KLUIS_HOME or home directory exists inside.

Limits: memory (RLIMIT_AS per process, and the cgroup's total where one can be made), CPU time
(RLIMIT_CPU), file size (RLIMIT_FSIZE), open files, processes (cgroup `pids.max`; RLIMIT_NPROC
does not hold for root, so without a cgroup the parent counts the sandbox's processes and kills
it at the limit) and wall time (the parent kills the whole sandbox).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kluis.enclave.cgroup import CGroup

Isolation = str  # "bwrap" | "none"
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "fonts")
_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
SANDBOX_UID = 65534


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 6 << 30
    cpu_seconds: int = 4 * 3600
    wall_seconds: float = 4 * 3600
    processes: int = 64
    file_bytes: int = 2 << 30
    tmp_bytes: int = 1 << 30
    outbox_bytes: int = 4 << 30
    open_files: int = 1024

    def describe(self) -> dict[str, int | float]:
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "processes": self.processes,
            "file_bytes": self.file_bytes,
            "tmp_bytes": self.tmp_bytes,
            "outbox_bytes": self.outbox_bytes,
            "open_files": self.open_files,
        }


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stopped: str | None  # wall-time | cpu-time | memory | processes | file-size | disk | None
    seconds: float
    peak_processes: int
    process_control: str  # "cgroup" | "counting"


@cache
def bwrap_available() -> bool:
    """bwrap is installed and can create its namespaces here (a probe run)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        probe = subprocess.run(
            [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def bwrap_version() -> str:
    exe = shutil.which("bwrap")
    if not exe:
        return "not installed"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or out.stderr.strip()


def python_mounts() -> list[Path]:
    """What the sandboxed Python needs: its installation, the venv, and kluis (read-only)."""
    import kluis

    paths = [Path(sys.base_prefix), Path(sys.prefix), Path(kluis.__file__).resolve().parent]
    out: list[Path] = []
    for p in paths:
        p = p.resolve()
        if Path("/usr") in (p, *p.parents):
            continue
        if not any(q == p or q in p.parents for q in out):
            out = [q for q in out if p not in q.parents] + [p]
    return out


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _TOP:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def bwrap_command(
    argv: Sequence[str],
    mounts: Sequence[Mount],
    env: dict[str, str],
    cwd: str,
    limits: Limits,
) -> list[str]:
    """The full bwrap command line for `argv`."""
    cmd = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        "kluis-enclave",
        *_system_args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.tmp_bytes),
        "--tmpfs",
        "/tmp",
    ]
    for p in python_mounts():
        cmd += ["--ro-bind", str(p), str(p)]
    for m in mounts:
        cmd += ["--bind" if m.writable else "--ro-bind", str(m.source), m.target]
    cmd += ["--remount-ro", "/"]  # bwrap's own root (a tmpfs) too: only the outbox and /tmp write
    for k, v in sorted(env.items()):
        cmd += ["--setenv", k, v]
    cmd += ["--chdir", cwd, "--", *argv]
    return cmd


def _uid_processes() -> int:
    uid, n = os.getuid(), 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            with contextlib.suppress(OSError):
                n += p.stat().st_uid == uid
    return n


def _descendants(root: int) -> int:
    """Number of live processes below `root` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(p.name))
    n, todo = 0, [root]
    while todo:
        for c in children.get(todo.pop(), []):
            n += 1
            todo.append(c)
    return n


_STOP_SIGNALS = {signal.SIGXCPU: "cpu-time", signal.SIGXFSZ: "file-size"}
_STOP_TEXT = (
    ("MemoryError", "memory"),
    ("Cannot allocate memory", "memory"),
    ("OutOfMemoryException", "memory"),
    ("File too large", "file-size"),
    ("[Errno 11] Resource temporarily unavailable", "processes"),
)


def _why_stopped(code: int, log: Path, cg: CGroup | None) -> str | None:
    if cg is not None and cg.hit_memory_limit():
        return "memory"
    if cg is not None and cg.hit_process_limit():
        return "processes"
    for sig, why in _STOP_SIGNALS.items():
        if code in (-sig, 128 + sig):
            return why
    if code == 0:
        return None
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 8192))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    for text, why in _STOP_TEXT:
        if text in tail:
            return why
    return None


def run(
    argv: Sequence[str],
    *,
    mounts: Sequence[Mount],
    env: dict[str, str],
    cwd: str,
    limits: Limits,
    log: Path,
    isolation: Isolation,
    outbox: Path | None = None,
) -> Outcome:
    """Run `argv` (in bwrap, or as a plain limited process when isolation is "none"); its
    output goes to `log`. Returns how it ended; never raises for what the program did.
    `outbox` (the writable folder) is watched: above `limits.outbox_bytes` the run is stopped
    (the disk has no quota per sandbox)."""
    if isolation == "bwrap":
        cmd, run_env, run_cwd = bwrap_command(argv, mounts, env, cwd, limits), {}, None
    else:
        cmd, run_env, run_cwd = list(argv), dict(env), cwd
    cg = CGroup.create(limits.processes, limits.memory_bytes)
    nproc = None if os.getuid() == 0 else _uid_processes() + limits.processes

    def limit_child() -> None:  # runs in the child between fork and exec
        _die_with_parent()
        os.umask(0o077)
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if cg is not None:
            cg.join()

    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    stopped: str | None = None
    peak = 0
    polls = 0
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=run_env,
            cwd=run_cwd,
            preexec_fn=limit_child,  # noqa: PLW1509 - limits must be set before exec
            start_new_session=True,
        )
        try:
            while True:
                try:
                    code = proc.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
                n = len(cg.pids()) if cg is not None else _descendants(proc.pid)
                peak = max(peak, n)
                polls += 1
                if n > limits.processes + 1:  # +1: bwrap's own monitor process
                    stopped = "processes"
                elif time.monotonic() - start > limits.wall_seconds:
                    stopped = "wall-time"
                elif outbox is not None and polls % 10 == 0 and _too_big(outbox, log, limits):
                    stopped = "disk"
                if stopped:
                    _kill(proc, cg)
                    code = proc.wait()
                    break
        finally:
            if proc.poll() is None:
                _kill(proc, cg)
                proc.wait()
    seconds = time.monotonic() - start
    if stopped is None:
        stopped = _why_stopped(code, log, cg)
    control = "cgroup" if cg is not None else "counting"
    if cg is not None:
        cg.kill()
        cg.remove()
    return Outcome(code, stopped, seconds, peak, control)


def _too_big(outbox: Path, log: Path, limits: Limits) -> bool:
    return _disk_usage(outbox) + log.stat().st_size > limits.outbox_bytes


def _disk_usage(root: Path) -> int:
    """Bytes of the regular files under `root` (links not followed)."""
    total, todo = 0, [root]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for e in entries:
            with contextlib.suppress(OSError):
                if e.is_dir(follow_symlinks=False):
                    todo.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
    return total


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the child is killed when the enclave process dies (kill -9 included);
    bwrap's --die-with-parent does the same for everything inside the sandbox."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _kill(proc: subprocess.Popen, cg: CGroup | None) -> None:
    """Kill the sandbox: bwrap (its pid namespace dies with it) and anything left in the
    cgroup or the process group."""
    if cg is not None:
        cg.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
