"""Run each entry file of a project and turn what it asked for into checked outputs.

- Python: researcher code runs in the sandbox; what it asked for (kluis.safe intents) is read
  back and built by the trusted side (tables, describe, models, files).
- SQL: no code runs; each statement is parsed and planned by the trusted side.
- SPSS: the syntax runs in the sandbox under GNU PSPP on data the trusted side prepared; its
  output goes to manual review with every table scanned.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kluis.enclave import spss
from kluis.enclave.describe import build_describe
from kluis.enclave.files import build_file
from kluis.enclave.intents import read_intents
from kluis.enclave.outputs import OUTPUTS, BuildContext, finish, refused
from kluis.enclave.regression import build_regression
from kluis.enclave.request import Output
from kluis.enclave.safe import CONTEXT_ENV
from kluis.enclave.sandbox import Limits, Mount, Outcome, run
from kluis.enclave.scan import scan_pspp_files
from kluis.enclave.sqlcheck import QueryRefused
from kluis.enclave.sqlfile import plan, statements
from kluis.enclave.tables import TableJob, build_table
from kluis.enclave.written import columns_named, unwritten_to_review
from kluis.errors import KluisError

PROJECT_MOUNT, EXTRACT_MOUNT, OUTBOX_MOUNT, CONTEXT_MOUNT = (
    "/project",
    "/extract",
    "/out",
    "/kluis",
)


LOG_BYTES = 5 << 20


@dataclass
class Session:
    """One run's shared state: where things are, the sandbox settings, events, used names."""

    ctx: BuildContext
    code_dir: Path  # the hashed copy of the project (what runs)
    work: Path  # scratch beside the request (outboxes, PSPP data), removed after the run
    isolation: str  # "bwrap" | "none"
    limits: Limits
    rules_info: dict
    deliberation: str
    events: list[dict] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    sandbox_runs: list[dict] = field(default_factory=list)
    check_budget: float = float("inf")  # seconds of trusted checking for the whole run
    checked_seconds: float = 0.0

    def say(self, line: str) -> None:
        self.log.append(line)

    def name(self, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`, ... when an earlier output has it. Dots become
        '_' so no output's files (NAME.csv, NAME.fit.csv, ...) can be another output's."""
        wanted = wanted.replace(".", "_")
        name, k = wanted, 1
        while name in self.names:
            k += 1
            name = f"{wanted[:120]}-{k}"
        self.names.add(name)
        return name

    def mount(self, inside: str, real: Path) -> str:
        return inside if self.isolation == "bwrap" else str(real)


def _env(s: Session, context: str, home: str, tmp: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "OMP_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "1",
        CONTEXT_ENV: context,
    }


def _safe_name(entry: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", entry)


def _trim(log: Path) -> None:
    """Keep a log the checker can read: its first and last parts when it is long."""
    size = log.stat().st_size if log.is_file() else 0
    if size <= LOG_BYTES:
        return
    with open(log, "rb") as fh:
        head = fh.read(LOG_BYTES // 4)
        fh.seek(size - 3 * LOG_BYTES // 4)
        tail = fh.read()
    marker = f"\n[... {size - len(head) - len(tail):,} bytes of this log left out ...]\n"
    log.write_bytes(head + marker.encode() + tail)


def _record(s: Session, entry: str, outcome: Outcome, log: Path) -> None:
    _trim(log)
    run_info = {
        "entry": entry,
        "exit_code": outcome.exit_code,
        "stopped": outcome.stopped,
        "seconds": round(outcome.seconds, 3),
        "peak_processes": outcome.peak_processes,
        "process_control": outcome.process_control,
        "log": s.ctx.rel(log),
    }
    s.sandbox_runs.append(run_info)
    s.say(
        f"{entry}: exit {outcome.exit_code} after {outcome.seconds:.1f} s"
        + (f", stopped: {outcome.stopped} limit" if outcome.stopped else "")
    )
    if outcome.stopped:
        s.events.append(
            {
                "kind": "stopped",
                "entry": entry,
                "limit": outcome.stopped,
                "detail": f"the sandbox was stopped at its {outcome.stopped} limit",
            }
        )
    elif outcome.exit_code != 0:
        s.events.append(
            {
                "kind": "failed",
                "entry": entry,
                "exit_code": outcome.exit_code,
                "detail": _last_error(log),
            }
        )


def _last_error(log: Path) -> str:
    try:
        lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x]
    except OSError:
        return ""
    return lines[-1][:500] if lines else ""


def run_python(s: Session, entry: str, seq: int) -> list[Output]:
    stem = f"{seq:02d}-{_safe_name(entry)}"
    outbox = s.work / "outbox" / stem
    (outbox / "work").mkdir(parents=True)
    ctx_dir = s.work / "context" / stem
    ctx_dir.mkdir(parents=True)
    ex = s.ctx.extract
    context = {
        "extract": s.mount(EXTRACT_MOUNT, ex.path),
        "tables": {n: list(t.files) for n, t in ex.tables.items()},
        "outbox": s.mount(OUTBOX_MOUNT, outbox),
        "project": s.mount(PROJECT_MOUNT, s.code_dir),
        "entry": entry,
        "deliberation": s.deliberation,
        "phase": s.ctx.phase,
        "rules": {"deliberation": s.deliberation, **s.rules_info["output_rules"]},
        "memory_limit": f"{max(256, s.limits.memory_bytes * 6 // 10 >> 20)}MB",
        "threads": 2,
    }
    (ctx_dir / "context.json").write_text(json.dumps(context, indent=1), encoding="utf-8")
    tmp = s.work / "tmp" / stem
    tmp.mkdir(parents=True)
    env = _env(
        s,
        s.mount(f"{CONTEXT_MOUNT}/context.json", ctx_dir / "context.json"),
        home=s.mount("/tmp", tmp),
        tmp=s.mount("/tmp", tmp),
    )
    log = s.ctx.path("internal", f"logs/{stem}.log")
    outcome = run(
        [sys.executable, "-m", "kluis.enclave.runner", f"{context['project']}/{entry}"],
        mounts=[
            Mount(s.code_dir, PROJECT_MOUNT),
            Mount(ex.path, EXTRACT_MOUNT),
            Mount(outbox, OUTBOX_MOUNT, writable=True),
            Mount(ctx_dir, CONTEXT_MOUNT),
        ],
        env=env,
        cwd=s.mount(f"{OUTBOX_MOUNT}/work", outbox / "work"),
        limits=s.limits,
        log=log,
        isolation=s.isolation,
        outbox=outbox,
    )
    _record(s, entry, outcome, log)
    intents, problems = read_intents(outbox)
    for p in problems:
        s.events.append({"kind": "rejected", "entry": entry, "detail": p})
    out: list[Output] = []
    for intent in intents:
        if intent.kind == "tamper":
            s.events.append(
                {"kind": "tamper", "entry": entry, "source": intent.source, "detail": intent.detail}
            )
            continue
        asked = intent
        intent = intent.model_copy(update={"name": s.name(intent.name)})
        built = _guarded(
            s, intent.name, intent.kind, intent.source, lambda i=intent: _build(s, i, outbox)
        )
        out.append(unwritten_to_review(s.ctx, asked, entry, built))
    return out


#: columns the trusted side adds to an output's rows (the person `__pid`, the value `__value`,
#: persons per row `__n`, SQL dimensions `__d0`...): a researcher's column may not be one
RESERVED_PREFIX = "__"


def _build(s: Session, intent, outbox: Path) -> Output:
    reserved = [c for c in columns_named(intent) if c.startswith(RESERVED_PREFIX)]
    if reserved:  # two columns of one name: the statistic could be of the person numbers
        return refused(
            intent.name,
            intent.kind,
            intent.source,
            f"column name(s) {', '.join(reserved)}: names starting with {RESERVED_PREFIX} are "
            "reserved for the enclave's own columns; rename them",
        )
    if intent.kind == "table":
        job = TableJob(
            name=intent.name,
            kind="table",
            source=intent.source,
            sql=intent.sql,
            dims=[(d, d) for d in intent.dimensions],
            value=intent.values,
            statistic=intent.statistic,
            quantile=intent.quantile,
        )
        return build_table(s.ctx, job)
    if intent.kind == "histogram":
        job = TableJob(
            name=intent.name,
            kind="histogram",
            source=intent.source,
            sql=intent.sql,
            dims=[],
            value=intent.column,
            edges=intent.edges,
        )
        return build_table(s.ctx, job)
    if intent.kind == "describe":
        return build_describe(s.ctx, intent)
    if intent.kind == "regression":
        return build_regression(s.ctx, intent)
    return build_file(s.ctx, intent, outbox)


def _guarded(s: Session, name: str, kind: str, source: str, build) -> Output:
    """Build one output; an unexpected failure refuses that output only (fail closed)."""
    if s.checked_seconds > s.check_budget:
        s.events.append({"kind": "error", "output": name, "detail": "time budget used up"})
        return refused(name, kind, source, "not checked: the run's time for checks is used up")
    start = time.perf_counter()
    try:
        out = build()
        took = time.perf_counter() - start
        s.checked_seconds += took
        parts = s.ctx.timings.get(name, {})
        detail = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
        s.say(f"checked {name} in {took:.2f} s" + (f" ({detail})" if detail else ""))
        return out
    except KluisError as exc:
        return refused(name, kind, source, str(exc))
    except Exception as exc:  # noqa: BLE001 - any other failure: this output cannot leave
        s.events.append({"kind": "error", "output": name, "detail": f"{type(exc).__name__}: {exc}"})
        return refused(name, kind, source, f"the enclave could not check it ({type(exc).__name__})")


def run_sql(s: Session, entry: str) -> list[Output]:
    text = (s.code_dir / entry).read_text(encoding="utf-8", errors="replace")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(entry).stem)
    out: list[Output] = []
    try:
        found = statements(text)
    except QueryRefused as exc:
        return [refused(s.name(stem), "sql", entry, str(exc))]
    for k, st in enumerate(found, start=1):
        source = f"{entry}:{st.line}"
        try:
            jobs = plan(st, s.ctx.catalog, stem, k, entry)
        except QueryRefused as exc:
            out.append(refused(s.name(st.name or f"{stem}_{k}"), "sql", source, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a statement the planner did not foresee
            name = s.name(st.name or f"{stem}_{k}")  # refuses that statement, not the run
            s.events.append({"kind": "error", "output": name, "detail": f"{type(exc).__name__}"})
            out.append(refused(name, "sql", source, "the enclave could not plan this query"))
            continue
        for job in jobs:
            job.name = s.name(job.name)
            out.append(_guarded(s, job.name, "sql", source, lambda j=job: build_table(s.ctx, j)))
    s.say(f"{entry}: {len(found)} statement(s), {len(out)} output(s)")
    return out


def run_spss(s: Session, entry: str, seq: int) -> list[Output]:
    stem = f"{seq:02d}-{_safe_name(entry)}"
    name = s.name(re.sub(r"[^A-Za-z0-9_.-]", "_", Path(entry).stem))
    text = (s.code_dir / entry).read_text(encoding="utf-8", errors="replace")
    data = s.work / "pspp-data" / stem
    data.mkdir(parents=True)
    mount = s.mount(spss.DATA_MOUNT, data)
    try:
        syntax, needs = spss.plan(text, s.ctx.extract, entry, data_mount=mount)
        for need in dict.fromkeys(needs):
            spss.prepare(need, s.ctx.extract, data, data_mount=mount)
    except KluisError as exc:
        return [refused(name, "pspp", entry, str(exc))]
    job = data / f"{stem}.job.sps"
    job.write_text(syntax, encoding="utf-8")
    outbox = s.work / "outbox" / stem
    outbox.mkdir(parents=True)
    tmp = s.work / "tmp" / stem
    tmp.mkdir(parents=True)
    out_dir = s.mount(OUTBOX_MOUNT, outbox)
    log = s.ctx.path("internal", f"logs/{stem}.log")
    # PSPP writes wherever the syntax says (--safer stops HOST and ERASE, not SAVE TRANSLATE or
    # WRITE OUTFILE): its own output files get names the syntax cannot know, so it cannot write
    # a listing of cases over them
    secret = secrets.token_hex(16)
    opened = {}  # PSPP writes into these files in place; syntax that replaces one changes it
    for suffix in (".csv", ".html"):
        made = outbox / f"{secret}{suffix}"
        made.touch()
        opened[suffix] = made.stat().st_ino
    outcome = run(
        [
            "pspp",
            "--safer",
            "-o",
            f"{out_dir}/{secret}.csv",
            "-o",
            f"{out_dir}/{secret}.html",
            f"{mount}/{job.name}",
        ],
        mounts=[
            Mount(s.code_dir, PROJECT_MOUNT),
            Mount(data, spss.DATA_MOUNT),
            Mount(outbox, OUTBOX_MOUNT, writable=True),
        ],
        env=_env(s, "", home=s.mount("/tmp", tmp), tmp=s.mount("/tmp", tmp)),
        cwd=s.mount(PROJECT_MOUNT, s.code_dir),
        limits=s.limits,
        log=log,
        isolation=s.isolation,
        outbox=outbox,
    )
    _record(s, entry, outcome, log)
    produced = outbox / f"{secret}.csv"
    if produced.is_symlink() or not produced.is_file():
        return [refused(name, "pspp", entry, "PSPP wrote no output (see the log)")]
    for suffix, inode in opened.items():
        made = outbox / f"{secret}{suffix}"
        if made.is_symlink() or not made.is_file() or made.stat().st_ino != inode:
            return [
                refused(
                    name,
                    "pspp",
                    entry,
                    f"PSPP's {suffix[1:].upper()} output file was replaced by the syntax (a "
                    "SAVE TRANSLATE or WRITE over it); nothing of this output can be trusted",
                )
            ]
    if produced.stat().st_size == 0:
        return [refused(name, "pspp", entry, "PSPP wrote no output (see the log)")]
    files: dict[str, str] = {}
    target = s.ctx.path(OUTPUTS, f"{name}.csv")
    shutil.copyfile(produced, target, follow_symlinks=False)
    files["output"] = s.ctx.rel(target)
    html = outbox / f"{secret}.html"
    html_target = None
    if html.is_file() and not html.is_symlink():
        html_target = s.ctx.path(OUTPUTS, f"{name}.html")
        shutil.copyfile(html, html_target, follow_symlinks=False)
        files["html"] = s.ctx.rel(html_target)
    flags = scan_pspp_files(target, html_target, s.ctx.rules.min_frequency)
    reason = f"PSPP output always goes to a checker; {len(flags)} thing(s) flagged"
    if outcome.exit_code != 0 or outcome.stopped:
        reason += "; PSPP did not finish cleanly (see the log)"
    output = Output(
        name=name,
        kind="pspp",
        status="review",
        reason=reason,
        source=entry,
        files=files,
        flagged=flags,
    )
    return [finish(s.ctx, output)]
