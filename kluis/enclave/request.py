"""The output request: what one enclave run asks to take out, and everything a checker needs.

This file format is the contract between the enclave (which writes it), the review application
(which shows it and records decisions) and the release (which bundles approved outputs).

Layout of a request directory:

    request.json              this model
    outputs/<file>            what may leave if approved (protected tables, coefficients, files)
    internal/<file>           for the checker only, never released (statuses, intervals, reports)
    code/<project files>      a copy of the researcher's code, hashed in `code`
    run.log                   the run's log
    decisions.jsonl           the checkers' decisions (written by kluis.review)

Every path in the model is relative to the request directory and is resolved with `resolve`,
which refuses anything that would leave the directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kluis.errors import BadInput

REQUEST_FILE = "request.json"
DECISIONS_FILE = "decisions.jsonl"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"

OutputKind = Literal["table", "regression", "describe", "histogram", "file", "pspp", "sql"]
OutputStatus = Literal["safe", "suppressed", "review", "refused"]


class RequestError(BadInput):
    """A request directory or file that cannot be used."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Output(_Model):
    """One output of the run."""

    name: str = Field(pattern=NAME_PATTERN, description="unique in the request")
    kind: OutputKind
    status: OutputStatus
    reason: str = Field("", description="why refused / suppressed / for review")
    source: str = Field("", description="project file (and line) that made it")
    note: str = Field("", description="the researcher's note (file outputs)")
    files: dict[str, str] = Field(
        default_factory=dict,
        description="role -> path. Paths under outputs/ may leave once approved ('output', and "
        "'fit' of a model, 'html' of PSPP output); paths under internal/ never leave ('status', "
        "'report', 'query', 'checks', and 'history': the release record directory)",
    )
    sha256: dict[str, str] = Field(default_factory=dict, description="path -> sha256")
    findings: list[dict] = Field(default_factory=list, description="history / differencing")
    flagged: list[dict] = Field(
        default_factory=list, description="numbers flagged in a review output (PSPP tables)"
    )


class Extract(_Model):
    path: str
    manifest_sha256: str
    phase: Literal["development", "full"]


class OutputRequest(_Model):
    """request.json."""

    version: Literal[1] = 1
    id: str = Field(pattern=NAME_PATTERN)
    project: str
    deliberation: str
    phase: Literal["development", "full"]
    researchers: list[str]
    run_by: str
    created: str = Field(description="ISO 8601 time of the run (UTC)")
    code: dict[str, str] = Field(description="project file -> sha256 (copies under code/)")
    extract: Extract
    rules: dict = Field(description="the deliberation's output_rules and their version")
    environment: dict[str, str] = Field(default_factory=dict)
    sandbox: dict = Field(default_factory=dict)
    log: str = "run.log"
    audit_head: str = ""
    outputs: list[Output]
    events: list[dict] = Field(
        default_factory=list,
        description="what happened during the run that a checker must know: entry files that "
        "failed or were stopped at a sandbox limit (kind failed/stopped), attempts to set rules "
        "(tamper), sandbox requests that were not valid (rejected), outputs the enclave could "
        "not check (error), a development run without the sandbox (warning)",
    )

    def output(self, name: str) -> Output:
        for o in self.outputs:
            if o.name == name:
                return o
        raise RequestError(f"request {self.id}: no output {name!r}")


def resolve(directory: Path, relative: str) -> Path:
    """`directory/relative`, refusing absolute paths, `..` and links out of the directory."""
    base = directory.resolve()
    if not relative or Path(relative).is_absolute():
        raise RequestError(f"{directory}: path {relative!r} is not inside the request")
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise RequestError(f"{directory}: path {relative!r} leaves the request directory")
    return target


def load_request(directory: Path | str) -> OutputRequest:
    """Read and validate `directory/request.json`."""
    from kluis.jsonfile import JsonFileError, read_json

    d = Path(directory)
    path = d / REQUEST_FILE
    try:  # the researcher's directory: nesting, duplicate keys, size are all refused here
        data = read_json(path)
    except JsonFileError as exc:
        raise RequestError(f"{exc} (the output request)") from None
    try:
        request = OutputRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise RequestError(f"{path}: {where}: {first['msg']}") from None
    names = [o.name for o in request.outputs]
    if len(set(names)) != len(names):
        raise RequestError(f"{path}: output names repeat")
    for o in request.outputs:
        for rel in [*o.files.values(), *o.sha256]:
            resolve(d, rel)
    return request
