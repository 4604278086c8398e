"""`kluis enclave run`: one project on one extract, every output checked, one output request.

Before anything runs it refuses: an extract of another deliberation than the project's, a
deliberation not in force on the day (its retention date passed included), an extract whose
files do not match its manifest, a researcher not named in the project, and a full-phase run
where the sandbox is not available. The request is built beside its target and published
atomically; a killed run leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kluis import audit
from kluis.atomic import publish_dir, remove_stale, staging_dir, write_text
from kluis.enclave import checks
from kluis.enclave.entries import Session, run_python, run_spss, run_sql
from kluis.enclave.extract import check_verifies, load_extract, read_manifest
from kluis.enclave.outputs import BuildContext, sha256_of
from kluis.enclave.project import PROJECT_FILE, copy_project, load_project
from kluis.enclave.query import Executor
from kluis.enclave.request import REQUEST_FILE, Extract, OutputRequest
from kluis.enclave.sandbox import Limits, bwrap_available, bwrap_version
from kluis.errors import BadInput, NotPermitted, Refused
from kluis.home import home


@dataclass
class RunOptions:
    today: dt.date = field(default_factory=dt.date.today)
    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"  # auto | bwrap | none (none: development runs only)
    memory_limit: str = "4GB"  # the trusted side's DuckDB
    threads: int = 2
    query_timeout: float = 3600.0  # one query of the trusted side
    check_seconds: float = (
        8 * 3600.0
    )  # all checks of a run (a sandbox asks for 500 outputs at most)
    deliberations: Path | None = None  # registry ($KLUIS_DELIBERATIONS, $KLUIS_HOME/deliberations)


@dataclass
class RunResult:
    path: Path
    request: OutputRequest
    warnings: list[str]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    """The software a run used (recorded in the request)."""
    try:
        pspp = subprocess.run(["pspp", "--version"], capture_output=True, text=True, timeout=30)
        pspp_v = pspp.stdout.splitlines()[0] if pspp.stdout else "unknown"
    except (OSError, subprocess.SubprocessError):
        pspp_v = "not installed"
    return {
        "kluis": _version("kluis"),
        "python": platform.python_version(),
        "pspp": pspp_v,
        "bwrap": bwrap_version(),
        "duckdb": _version("duckdb"),
        "ibis": _version("ibis-framework"),
        "statsmodels": _version("statsmodels"),
        "sqlglot": _version("sqlglot"),
        "platform": platform.platform(),
    }


def _deliberation(number: str, directory: Path | None):
    """The registered file of deliberation `number`, the deliberation, and the registry."""
    from kluis.deliberation import load
    from kluis.deliberation.registry import find, load_registry

    registry = load_registry(directory)  # refused when it cannot be read: "in force" fails closed
    path = find(number, directory)
    return path, load(path), registry


def _rules_info(d, path: Path) -> dict:
    engine = checks.rules_from_deliberation(d.output_rules).model_dump()
    text = json.dumps(engine, sort_keys=True)
    return {
        "source": f"deliberation {d.number} output_rules",
        "deliberation_file": path.name,
        "deliberation_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "output_rules": d.output_rules.model_dump(),
        "engine_rules": engine,
        "version": hashlib.sha256(f"{_version('kluis')}|{text}".encode()).hexdigest()[:16],
    }


def _audit_head() -> str:
    from kluis.audit import AuditLog, default_log_path

    last = ""
    try:
        for entry in AuditLog(default_log_path()).entries():
            last = entry.get("hash", last)
    except Exception:  # noqa: BLE001 - the head is informative; the log has its own checks
        return ""
    return last


def _isolation(options: RunOptions, phase: str, warnings: list[str]) -> str:
    have = bwrap_available()
    if options.isolation == "bwrap" and not have:
        raise Refused("the sandbox (bwrap) is not available on this machine")
    if options.isolation == "none" and phase == "full":
        raise Refused("a full-phase run always runs in the sandbox")
    if options.isolation == "none":
        warnings.append("development run without the sandbox (asked for)")
        return "none"
    if have:
        return "bwrap"
    if phase == "full":
        raise Refused(
            "the sandbox (bubblewrap, `bwrap`) is not available: a full-phase run is refused "
            "without it (install Debian's bubblewrap: make system)"
        )
    warnings.append(
        "bubblewrap is not available: this development run is NOT sandboxed (no network or "
        "file isolation); a full-phase run would be refused"
    )
    return "none"


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(tmp|work|old)-\d+-[0-9a-f]+$")


def _remove_leftovers(parent: Path) -> None:
    """Temporaries of killed runs beside any request in this folder: a killed run's work area
    holds microdata (PSPP's CSV files), so it must not wait for a rerun into the same target."""
    for p in list(parent.iterdir()) if parent.is_dir() else []:
        m = _LEFTOVER.match(p.name)
        if m:
            remove_stale(parent / m.group("name"))


def _check_target(out: Path) -> None:
    if out.is_symlink() or out.exists():
        raise BadInput(
            f"{out} already exists: an output request is never overwritten; choose a new --out"
        )


def run_project(
    project_dir: Path | str,
    extract_dir: Path | str,
    out: Path | str,
    *,
    user,
    options: RunOptions | None = None,
) -> RunResult:
    """Run the project on the extract; write and publish the output request at `out`."""
    from kluis.deliberation.dates import check_in_force, check_within_retention

    options = options or RunOptions()
    out = Path(out).absolute()
    project = load_project(project_dir)
    manifest = read_manifest(extract_dir)
    audit.note(deliberation=manifest["deliberation"], project=project.spec.name)
    if manifest["deliberation"] != project.spec.deliberation:
        raise Refused(
            f"{extract_dir}: an extract of deliberation {manifest['deliberation']}, but project "
            f"{project.spec.name} is under deliberation {project.spec.deliberation}"
        )
    if user.role == "researcher" and user.name not in project.spec.researchers:
        raise NotPermitted(
            f"not permitted: {user.name} is not a researcher of project {project.spec.name} "
            f"({project.path / PROJECT_FILE})"
        )
    d_path, d, registry = _deliberation(project.spec.deliberation, options.deliberations)
    check_in_force(d, options.today, registry)
    retention = check_within_retention(d, options.today, registry)
    check_verifies(extract_dir)
    extract = load_extract(extract_dir, d)
    audit.note(extract_manifest_sha256=extract.manifest_sha256, phase=extract.phase)
    warnings: list[str] = []
    isolation = _isolation(options, extract.phase, warnings)
    _check_target(out)
    for inside, what in ((extract.path, "extract"), (project.path.absolute(), "project")):
        if out.resolve().is_relative_to(inside.resolve()):
            raise BadInput(f"--out {out} is inside the {what} ({inside}): write requests elsewhere")
    _remove_leftovers(out.parent)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    staging = staging_dir(out)
    work = staging_dir(out, "work")
    executor = None
    try:
        copy_project(project, staging / "code")
        executor = Executor(
            extract,
            work / "duckdb",
            memory_limit=options.memory_limit,
            threads=options.threads,
            timeout=options.query_timeout,
        )
        rules_info = _rules_info(d, d_path)
        history = checks.RunHistory(home() / "history" / d.slug, work / "history")
        code_text = "\n".join(
            (staging / "code" / rel).read_text(encoding="utf-8", errors="replace")
            for rel in sorted(project.files)
        )
        ctx = BuildContext(
            request_dir=staging,
            extract=extract,
            executor=executor,
            rules=checks.rules_from_deliberation(d.output_rules),
            history=history,
            deliberation=d.slug,
            rules_source=f"deliberation {d.number}",
            code_text=code_text,
            phase=extract.phase,
        )
        s = Session(
            ctx=ctx,
            code_dir=staging / "code",
            work=work,
            isolation=isolation,
            limits=options.limits,
            rules_info=rules_info,
            deliberation=d.number,
            check_budget=options.check_seconds,
        )
        for w in warnings:
            s.events.append({"kind": "warning", "detail": w})
            s.say(f"warning: {w}")
        s.say(
            f"project {project.spec.name} on {extract.path} ({extract.phase}), isolation "
            f"{isolation}, {history.count} earlier release(s) in the history"
        )
        outputs = []
        for seq, (entry, kind) in enumerate(project.entries, start=1):
            if kind == "python":
                outputs += run_python(s, entry, seq)
            elif kind == "sql":
                outputs += run_sql(s, entry)
            else:
                outputs += run_spss(s, entry, seq)
        for o in outputs:
            s.say(f"output {o.name} ({o.kind}): {o.status} - {o.reason}")
        (staging / "run.log").write_text("\n".join(s.log) + "\n", encoding="utf-8")
        request = OutputRequest(
            id=f"{project.spec.name}-{extract.phase}-{created:%Y%m%dT%H%M%SZ}",
            project=project.spec.name,
            deliberation=d.number,
            phase=extract.phase,
            researchers=list(project.spec.researchers),
            run_by=user.name,
            created=created.isoformat(),
            code={f"code/{rel}": digest for rel, digest in sorted(project.files.items())},
            extract=Extract(
                path=str(extract.path),
                manifest_sha256=extract.manifest_sha256,
                phase=extract.phase,
            ),
            rules=rules_info,
            environment=environment(),
            sandbox={
                "isolation": isolation,
                "network": "none" if isolation == "bwrap" else "not isolated",
                "limits": options.limits.describe(),
                "runs": s.sandbox_runs,
            },
            audit_head=_audit_head(),
            outputs=outputs,
            events=s.events,
        )
        write_text(
            staging / REQUEST_FILE,
            json.dumps(request.model_dump(), indent=1, ensure_ascii=False) + "\n",
        )
        executor.close()
        executor = None
        publish_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if executor is not None:
            executor.close()
        shutil.rmtree(work, ignore_errors=True)
    _register(out, request, d, retention)
    return RunResult(out, request, warnings)


def _register(out: Path, request: OutputRequest, d, retention: dt.date) -> None:
    from kluis.audit.catalogue import register

    digest = sha256_of(out / REQUEST_FILE)
    counts: dict[str, int] = {}
    for o in request.outputs:
        counts[o.status] = counts.get(o.status, 0) + 1
    register(
        "request",
        out,
        deliberation=d.number,
        retention=d.retention,
        request_sha256=digest,
        phase=request.phase,
        project=request.project,
    )
    audit.note(
        request=str(out),
        request_sha256=digest,
        outputs=counts,
        events=[
            {k: v for k, v in e.items() if k in ("kind", "entry", "limit", "detail")}
            for e in request.events
        ],
        tamper=sum(e["kind"] == "tamper" for e in request.events),
    )
