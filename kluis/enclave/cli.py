"""`kluis enclave run PROJECT --extract EXTRACT --out REQUEST`: phase 2 (and phase 1) runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Run researcher projects in the sandbox.")

#: events that make the run end with exit code 1 (the request is still written)
_TROUBLE = frozenset({"failed", "stopped", "tamper", "rejected", "error"})
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _bytes(text: str, option: str) -> int:
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if t and t[-1] in _UNITS:
            return int(float(t[:-1]) * _UNITS[t[-1]])
        return int(t)
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r}: give bytes, e.g. 4G or 512M") from None


@app.command("run")
def run_cmd(
    project: Path = typer.Argument(..., help="Project folder (project.yaml and its syntax)."),
    extract: Path = typer.Option(..., "--extract", help="Extract directory (either phase)."),
    out: Path = typer.Option(..., "--out", help="Output request directory (must not exist)."),
    today: str | None = typer.Option(
        None, "--today", help="Date for the in-force check (YYYY-MM-DD; default: today)."
    ),
    memory: str = typer.Option("6G", "--memory", help="Sandbox memory limit per process."),
    cpu_seconds: int = typer.Option(4 * 3600, "--cpu-seconds", help="Sandbox CPU time limit."),
    wall_seconds: float = typer.Option(4 * 3600, "--wall-seconds", help="Sandbox wall time."),
    processes: int = typer.Option(64, "--processes", help="Sandbox process limit."),
    file_size: str = typer.Option("2G", "--file-size", help="Largest file the sandbox writes."),
    disk: str = typer.Option("4G", "--disk", help="Most the sandbox may write in all."),
    deliberations: Path | None = typer.Option(
        None,
        "--deliberations",
        help="Registry of deliberations [default: $KLUIS_DELIBERATIONS, else "
        "$KLUIS_HOME/deliberations].",
    ),
    no_sandbox: bool = typer.Option(
        False, "--no-sandbox", help="Development runs only: run without bubblewrap (warned)."
    ),
) -> None:
    """Run PROJECT on EXTRACT in the sandbox, check every output, write an output request."""
    from kluis.access import acting_user
    from kluis.enclave.run import RunOptions, run_project
    from kluis.enclave.sandbox import Limits

    user = acting_user()  # the role was checked centrally (kluis.access.commands: enclave.run)
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        raise typer.BadParameter(f"--today {today!r} is not a date (YYYY-MM-DD)") from None
    limits = Limits(
        memory_bytes=_bytes(memory, "--memory"),
        cpu_seconds=cpu_seconds,
        wall_seconds=wall_seconds,
        processes=processes,
        file_bytes=_bytes(file_size, "--file-size"),
        outbox_bytes=_bytes(disk, "--disk"),
    )
    options = RunOptions(
        today=day,
        limits=limits,
        isolation="none" if no_sandbox else "auto",
        deliberations=deliberations,
    )
    result = run_project(project, extract, out, user=user, options=options)
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(summary(result.request, result.path))
    trouble = [e for e in result.request.events if e["kind"] in _TROUBLE]
    if trouble:
        from kluis.errors import Refused

        kinds = ", ".join(sorted({e["kind"] for e in trouble}))
        raise Refused(
            f"the output request is written to {result.path}, but {len(trouble)} thing(s) went "
            f"wrong in the run ({kinds}): see its events and logs"
        )


def _shown(text: object) -> str:
    """`text` with control characters written out (`\\x1b`): names, reasons and log lines come
    from researcher code, which must not drive the steward's terminal (escape sequences can
    retitle it, write its clipboard or hide lines)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def summary(request, path: Path) -> str:
    """A readable summary of a request: its outputs and their statuses, and its events."""
    lines = [
        f"output request {request.id} at {path}",
        f"  {request.project} under deliberation {request.deliberation}, {request.phase} "
        f"phase, run by {request.run_by}, sandbox {request.sandbox.get('isolation')}",
    ]
    width = max((len(o.name) for o in request.outputs), default=4)
    for o in request.outputs:
        lines.append(f"  {o.name:<{width}}  {o.kind:<10} {o.status:<10} {_shown(o.reason)}")
    for e in request.events:
        where = _shown(e.get("entry") or e.get("output") or "")
        lines.append(f"  ! {_shown(e['kind'])} {where}: {_shown(e.get('detail', ''))}")
    return "\n".join(lines)
