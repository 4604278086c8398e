"""Demo stage: phase 2 (and phase 1) in the secure environment.

Both example projects (examples/26-104-labour-reserve, examples/24-074-education-by-sector) run
unchanged on the development and the full extract of their deliberation, each in the sandbox,
through `kluis enclave run`; every output is checked and lands in an output request under
demo-out/requests/, which the review stage then shows to the output checkers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kluis.demo.context import Demo

TODAY = "2026-11-22"
PROJECTS = (
    ("26-104-labour-reserve", "26-104"),
    ("24-074-education-by-sector", "24-074"),
)
STATUS_STYLE = {"safe": "green", "suppressed": "yellow", "review": "cyan", "refused": "red"}


def request_dir(out: Path, project: str, phase: str) -> Path:
    """Where the demo puts the request of `project` on `phase` (the review stage reads it)."""
    return out / "requests" / f"{project}-{phase}"


def _counts(demo: Demo, request) -> None:
    """One line per request under the command's own summary: how many outputs of each status."""
    counts: dict[str, int] = {}
    for o in request.outputs:
        counts[o.status] = counts.get(o.status, 0) + 1
    shown = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{n} {k}[/]" for k, n in sorted(counts.items()))
    demo.console.print(f"{len(request.outputs)} outputs: {shown}; events: {len(request.events)}")


def run(demo: Demo) -> list[str]:
    from kluis.enclave.request import load_request

    shutil.rmtree(demo.out / "requests", ignore_errors=True)  # a rerun makes fresh requests
    examples = Path("examples")
    for project, slug in PROJECTS:
        for phase in ("development", "full"):
            target = request_dir(demo.out, project, phase)
            demo.kluis(
                f"{project}: the researchers' syntax on the {phase} extract, in the sandbox",
                ["enclave", "run", str(examples / project),
                 "--extract", str(demo.out / "extracts" / f"{slug}-{phase}"),
                 "--out", str(target), "--today", TODAY],
            )  # fmt: skip
            _counts(demo, load_request(target))
    req = demo.out / "requests"
    return [
        f"Output requests (enclave runs):      {req}/<project>-<phase>/request.json",
        f"  what may leave / checker only:     {req}/*/outputs/  and  {req}/*/internal/",
    ]
