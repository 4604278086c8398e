"""Output requests as the checker sees them: the request, its decisions, each output's state.

States of an output: `refused` (the enclave refused it: it can never leave), `waiting`,
`partly approved` (fewer approvals than the deliberation needs), `approved`, `rejected` (one
rejection is enough), `released`. A request is `waiting`, `partly reviewed`, `approved` (every
output decided, at least one approved), `rejected` (nothing may leave) or `released`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kluis.access import User
from kluis.digest import sha256_file
from kluis.enclave.request import (
    REQUEST_FILE,
    Output,
    OutputRequest,
    RequestError,
    load_request,
    resolve,
)
from kluis.errors import KluisError
from kluis.review.decisions import Decision, Record, ReleaseRecord, read_records
from kluis.review.policy import required_approvals

OUTPUT_STATES = ("refused", "waiting", "partly approved", "approved", "rejected", "released")
REQUEST_STATES = ("waiting", "partly reviewed", "approved", "rejected", "released")


def checked_sha256(path: Path) -> str:
    """sha256 of a file, computed once per version of it: every page of the review application
    checks every file of every request, and a full run's history records are large. A version
    is (inode, size, mtime, ctime): writing to a file changes its ctime, which no user can set
    back. (The release hashes what it copies again, whatever this says.)"""
    st = path.stat()
    return _sha256_of(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256_of(path: str, _ino: int, _size: int, _mtime: int, _ctime: int) -> str:
    return sha256_file(Path(path))


def _is_under(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


#: file roles that name a directory, not a file (the table's release-history record)
DIRECTORY_ROLES = ("history",)


def output_rule(rules: dict, key: str) -> object:
    """A value of the deliberation's output rules as the request records them: under
    `output_rules` (as the enclave writes them) or at the top."""
    nested = rules.get("output_rules") if isinstance(rules, dict) else None
    if isinstance(nested, dict) and key in nested:
        return nested[key]
    return rules.get(key) if isinstance(rules, dict) else None


def code_path(request_dir: Path, rel: str) -> Path:
    """The copy of project file `rel`: named relative to the request (`code/x.py`) or to
    code/ (`x.py`); never outside the request."""
    if rel.startswith("code/"):
        return resolve(request_dir, rel)
    return resolve(request_dir / "code", rel)


@dataclass(frozen=True)
class OutputState:
    """One output with its decisions and what the checker must know before deciding."""

    output: Output
    state: str
    needed: int
    approvals: tuple[Decision, ...]
    rejections: tuple[Decision, ...]
    releasable: dict[str, str]  # path under outputs/ -> sha256 recorded by the enclave
    problems: tuple[str, ...] = ()  # files changed, missing or without a recorded hash

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return tuple(sorted((*self.approvals, *self.rejections), key=lambda d: d.time))

    @property
    def approvers(self) -> list[str]:
        return [d.checker for d in self.approvals]


@dataclass(frozen=True)
class ReviewRequest:
    """One request directory, read and checked."""

    path: Path
    request: OutputRequest
    sha256: str
    records: tuple[Record, ...]
    needed: int
    code_problems: tuple[str, ...] = field(default=())
    #: the request as a whole cannot be trusted: not written by an enclave run, links, files
    #: added after the run
    integrity: tuple[str, ...] = field(default=())

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything that stops any output of this request from being approved or released."""
        return (*self.integrity, *self.code_problems)

    @property
    def id(self) -> str:
        return self.request.id

    @property
    def decisions(self) -> list[Decision]:
        return [r for r in self.records if isinstance(r, Decision)]

    @property
    def releases(self) -> list[ReleaseRecord]:
        return [r for r in self.records if isinstance(r, ReleaseRecord)]

    def involves(self, user: User) -> bool:
        """True for the researchers of the project and whoever ran it (by name or account)."""
        people = {self.request.run_by, *self.request.researchers}
        return bool({user.name, user.account} & people)

    def may_view(self, user: User) -> bool:
        """Checkers and stewards see every request; a researcher only their project's."""
        return user.role in ("checker", "steward") or self.involves(user)

    @cached_property
    def states(self) -> dict[str, OutputState]:
        released = {name for r in self.releases for name in r.outputs}
        return {o.name: self._state(o, released) for o in self.request.outputs}

    def output_state(self, name: str) -> OutputState:
        self.request.output(name)  # RequestError naming the request when there is none
        return self.states[name]

    @property
    def state(self) -> str:
        if self.releases:
            return "released"
        states = [s.state for s in self.states.values() if s.state != "refused"]
        if not states or all(s == "rejected" for s in states):
            return "rejected"
        if all(s == "waiting" for s in states):
            return "waiting"
        if any(s in ("waiting", "partly approved") for s in states):
            return "partly reviewed"
        return "approved"

    def _state(self, o: Output, released: set[str]) -> OutputState:
        mine = [d for d in self.decisions if d.output == o.name]
        approvals = tuple(d for d in mine if d.approves)
        rejections = tuple(d for d in mine if not d.approves)
        releasable, problems = self._files(o)
        if o.status == "refused":
            state = "refused"
        elif o.name in released:
            state = "released"
        elif rejections:
            state = "rejected"
        elif len({d.checker for d in approvals}) >= self.needed:
            state = "approved"
        elif approvals:
            state = "partly approved"
        else:
            state = "waiting"
        return OutputState(o, state, self.needed, approvals, rejections, releasable, problems)

    def _files(self, o: Output) -> tuple[dict[str, str], tuple[str, ...]]:
        """The output's files that may leave (under outputs/), and what is wrong with any file:
        a file outside the request, missing, changed since the run, or without a hash."""
        outputs_dir = (self.path / "outputs").resolve()
        releasable: dict[str, str] = {}
        problems: list[str] = []
        files = [p for role, p in o.files.items() if role not in DIRECTORY_ROLES]
        for role in DIRECTORY_ROLES:
            if role in o.files:
                problems.extend(_directory_problems(self.path, o.files[role], o.sha256))
        for rel in dict.fromkeys([*files, *o.sha256]):
            try:
                target = resolve(self.path, rel)
            except RequestError as exc:
                problems.append(str(exc))
                continue
            recorded = o.sha256.get(rel)
            if not target.is_file():
                problems.append(f"{rel}: missing")
            elif recorded is None:
                problems.append(f"{rel}: the request records no sha256 for it")
            elif checked_sha256(target) != recorded:
                problems.append(f"{rel}: changed since the run (sha256 differs)")
            if _is_under(target, outputs_dir) and recorded is not None:
                releasable[rel] = recorded
        return releasable, tuple(problems)


def _directory_problems(request_dir: Path, rel: str, recorded: dict[str, str]) -> list[str]:
    """A directory an output names (its history record): there, and holding only the files the
    run hashed (their hashes are checked with the output's other files)."""
    try:
        target = resolve(request_dir, rel)
    except RequestError as exc:
        return [str(exc)]
    if not target.is_dir():
        return [f"{rel}: missing"]
    base = request_dir.resolve()
    inside = [p.relative_to(base).as_posix() for p in target.rglob("*") if not p.is_dir()]
    added = sorted(p for p in inside if p not in recorded)
    return [f"{p}: added after the run (the request records no sha256 for it)" for p in added]


def _integrity(path: Path, request: OutputRequest, digest: str) -> tuple[str, ...]:
    """What makes the whole request untrustworthy: a request.json no enclave run wrote (its
    hash is in no `kluis enclave run` record of the audit log), a symbolic link anywhere in the
    request, a file under outputs/ that no output names."""
    from kluis.review.trail import enclave_requests

    out = []
    if digest not in enclave_requests():
        out.append(
            f"{REQUEST_FILE}: no `kluis enclave run` in the audit log wrote it (sha256 "
            f"{digest[:12]}…): it was edited or made by hand"
        )
    named = {rel for o in request.outputs for rel in [*o.files.values(), *o.sha256]}
    for folder, dirs, files in os.walk(path):
        here = Path(folder)
        for name in sorted([*dirs, *files]):
            p = here / name
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                out.append(f"{rel}: a symbolic link (a request holds only plain files)")
            elif rel.startswith("outputs/") and p.is_file() and rel not in named:
                out.append(f"{rel}: added after the run (no output names it)")
    return tuple(out)


def _code_problems(path: Path, request: OutputRequest) -> tuple[str, ...]:
    out = []
    for rel, recorded in request.code.items():
        try:
            target = code_path(path, rel)
        except RequestError as exc:
            out.append(str(exc))
            continue
        name = target.relative_to(path.resolve()).as_posix()
        if not target.is_file():
            out.append(f"{name}: missing")
        elif checked_sha256(target) != recorded:
            out.append(f"{name}: differs from the sha256 recorded at the run")
    return tuple(out)


def open_request(directory: Path | str) -> ReviewRequest:
    """Read a request directory with its decisions; RequestError when it cannot be used."""
    path = Path(directory).absolute()
    request = load_request(path)
    digest = checked_sha256(path / REQUEST_FILE)
    records = tuple(read_records(path))
    return ReviewRequest(
        path=path,
        request=request,
        sha256=digest,
        records=records,
        needed=required_approvals(request),
        code_problems=_code_problems(path, request),
        integrity=_integrity(path, request, digest),
    )


@dataclass(frozen=True)
class Unreadable:
    """A request directory the queue cannot show (named, with why)."""

    path: Path
    error: str


def find_requests(root: Path | str) -> list[ReviewRequest | Unreadable]:
    """Every request directory at most two levels below `root` (or `root` itself), newest
    first; damaged ones are kept as `Unreadable` so the queue can say so."""
    root = Path(root).absolute()
    dirs = {p.parent for depth in ("", "*/", "*/*/") for p in root.glob(f"{depth}{REQUEST_FILE}")}
    found: list[ReviewRequest | Unreadable] = []
    for d in sorted(dirs):
        if any(part.startswith(".") for part in d.relative_to(root).parts):
            continue  # temporaries of a run or a publish in progress
        try:
            found.append(open_request(d))
        except KluisError as exc:
            found.append(Unreadable(d, str(exc)))
    return sorted(found, key=lambda r: getattr(getattr(r, "request", None), "created", ""))[::-1]


def development_twin(
    requests: list[ReviewRequest | Unreadable], rr: ReviewRequest, output: str
) -> tuple[ReviewRequest, Output] | None:
    """The same output (by name) of the newest development run of the same project."""
    if rr.request.phase == "development":
        return None
    for other in requests:  # newest first
        if (
            isinstance(other, ReviewRequest)
            and other.request.phase == "development"
            and other.request.project == rr.request.project
            and other.request.deliberation == rr.request.deliberation
        ):
            for o in other.request.outputs:
                if o.name == output:
                    return other, o
    return None
