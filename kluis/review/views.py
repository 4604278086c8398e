"""Everything one output page shows, gathered from the request directory (no HTML here).

The same output of the project's development run is put beside it when there is one, so the
checker sees what changed between the sample and the full population.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kluis.enclave.request import Output, RequestError, resolve
from kluis.review.files import Preview, preview
from kluis.review.grid import TableView, read_table
from kluis.review.store import (
    DIRECTORY_ROLES,
    OutputState,
    ReviewRequest,
    Unreadable,
    checked_sha256,
    code_path,
    development_twin,
    output_rule,
)

TABLE_KINDS = ("table", "sql", "describe", "histogram")
MAX_CODE = 200_000
_SOURCE = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+))?$")


@dataclass(frozen=True)
class FileRef:
    index: int  # position in the output's file list: the URL never carries a path
    path: str
    role: str
    sha256: str
    releasable: bool


@dataclass(frozen=True)
class CodeFile:
    path: str
    recorded: str
    matches: bool
    lines: list[str]
    line: int | None  # the line that made the output, when the request says
    is_source: bool


@dataclass
class OutputPage:
    rr: ReviewRequest
    st: OutputState
    files: list[FileRef]
    table: TableView | None = None
    previews: list[tuple[FileRef, Preview]] = field(default_factory=list)
    code: list[CodeFile] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)
    rule_details: list[tuple[str, str]] = field(default_factory=list)
    twin: ReviewRequest | None = None
    twin_output: Output | None = None
    twin_table: TableView | None = None
    twin_previews: list[tuple[FileRef, Preview]] = field(default_factory=list)


def file_refs(rr: ReviewRequest, o: Output) -> list[FileRef]:
    roles = {path: role for role, path in o.files.items()}
    files = [p for role, p in o.files.items() if role not in DIRECTORY_ROLES]
    paths = list(dict.fromkeys([*files, *o.sha256]))
    st = rr.states[o.name]
    return [
        FileRef(i, p, roles.get(p, ""), o.sha256.get(p, ""), p in st.releasable)
        for i, p in enumerate(paths)
    ]


def file_path(rr: ReviewRequest, o: Output, index: int) -> tuple[FileRef, Path]:
    """The file number `index` of an output, resolved inside the request."""
    refs = file_refs(rr, o)
    if not 0 <= index < len(refs):
        raise RequestError(f"output {o.name} has no file number {index}")
    return refs[index], resolve(rr.path, refs[index].path)


def _table(rr: ReviewRequest, o: Output) -> TableView | None:
    status = o.files.get("status")
    if o.kind not in TABLE_KINDS or not status:
        return None
    try:
        status_path = resolve(rr.path, status)
        out_rel = o.files.get("output") or o.files.get("table")
        out_path = resolve(rr.path, out_rel) if out_rel else None
    except RequestError:
        return None
    if not status_path.is_file():
        return None
    return read_table(status_path, out_path)


def _previews(
    rr: ReviewRequest, o: Output, table: TableView | None
) -> list[tuple[FileRef, Preview]]:
    """The files that may leave, each as the checker should see it (tables are drawn as grids
    instead)."""
    if table is not None:
        return []
    min_cell = int(output_rule(rr.request.rules, "min_cell") or 10)
    refs = [ref for ref in file_refs(rr, o) if ref.releasable]
    if any(ref.role == "output" for ref in refs):  # PSPP's HTML is its CSV again: listed only
        refs = [ref for ref in refs if ref.role != "html"]
    return [
        (ref, preview(resolve(rr.path, ref.path), ref.path, o.flagged, min_cell)) for ref in refs
    ]


def _code(rr: ReviewRequest, o: Output) -> list[CodeFile]:
    m = _SOURCE.match(o.source or "")
    source = m.group("file") if m else ""
    line = int(m.group("line")) if m and m.group("line") else None

    def is_source(rel: str) -> bool:
        return bool(source) and rel.removeprefix("code/") == source.removeprefix("code/")

    out = []
    for rel, recorded in sorted(rr.request.code.items(), key=lambda kv: not is_source(kv[0])):
        try:
            path = code_path(rr.path, rel)
        except RequestError:
            continue
        if not path.is_file():
            out.append(CodeFile(rel, recorded, False, [], None, is_source(rel)))
            continue
        matches = checked_sha256(path) == recorded
        text = path.read_bytes()[:MAX_CODE].decode("utf-8", errors="replace")
        out.append(
            CodeFile(
                rel,
                recorded,
                matches,
                text.splitlines(),
                line if is_source(rel) else None,
                is_source(rel),
            )
        )
    return out


def _rules(rr: ReviewRequest) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The deliberation's output rules the run was checked under (and the approvals needed),
    then everything else the request records about its rules (engine settings, hashes)."""

    def flat(prefix: str, value: object) -> list[tuple[str, str]]:
        if isinstance(value, dict):
            return [kv for k, v in value.items() for kv in flat(f"{prefix}{k}.", v)]
        return [(prefix.rstrip("."), str(value))]

    rules = dict(rr.request.rules)
    nested = rules.pop("output_rules", None)
    main = flat("", nested) if isinstance(nested, dict) else []
    rest = flat("", rules)
    if not main:  # rules recorded flat: the output rules are the top level
        main, rest = [kv for kv in rest if kv[0] != "version"], []
    main += [kv for kv in rest if kv[0] == "version"]
    rest = [kv for kv in rest if kv[0] != "version"]
    main.append(
        ("approvals needed (the strictest of deliberation, request, steward)", str(rr.needed))
    )
    return main, rest


def output_page(
    requests: list[ReviewRequest | Unreadable], rr: ReviewRequest, name: str
) -> OutputPage:
    st = rr.output_state(name)
    o = st.output
    table = _table(rr, o)
    page = OutputPage(
        rr=rr,
        st=st,
        files=file_refs(rr, o),
        table=table,
        previews=_previews(rr, o, table),
        code=_code(rr, o),
    )
    page.rules, page.rule_details = _rules(rr)
    twin = development_twin(requests, rr, name)
    if twin is not None:
        page.twin, page.twin_output = twin
        page.twin_table = _table(*twin)
        page.twin_previews = _previews(twin[0], twin[1], page.twin_table)
    return page
