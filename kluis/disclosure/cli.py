"""`kluis tables ...`: small cell risk analysis of tables.

`tables protect TABLE --spec SPEC [--deliberation FILE] [--history DIR] [--out OUT]` writes one
directory OUT (default `<TABLE>.protected`), published atomically:

    OUT/public/<name>.csv             the protected table: what may leave, once approved
    OUT/internal/NOT-FOR-RELEASE.txt  everything under internal/ is for the checker only:
    OUT/internal/<name>.internal-status.csv, <name>.internal-report.html, record/

A table that may not be released gets no public/ part. OUT is replaced only when it is a
previous `tables protect` output (or empty); anything else is refused, never deleted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # paths and rules on one line each


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def check_out(out: Path, inputs: list[Path]) -> None:
    """Refuse an --out that is a file, an unrelated directory, or holds the input."""
    from kluis.disclosure.history import PUBLICATION_MARK
    from kluis.errors import BadInput

    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BadInput(f"{out}: --out must name a directory for the outputs; this is a file")
    for p in inputs:
        if out.exists() and _inside(p, out):
            raise BadInput(f"{out}: --out holds the input {p}; choose another directory")
    if out.is_dir() and any(out.iterdir()) and not (out / PUBLICATION_MARK).is_file():
        raise BadInput(
            f"{out}: an existing directory that is not a `tables protect` output; "
            "refusing to replace it (choose a new or empty directory)"
        )


def _stage(pt, out: Path) -> Path:
    """Everything OUT will hold, in a hidden directory beside it, with its mark."""
    from kluis import atomic
    from kluis.disclosure.api import write_outputs
    from kluis.disclosure.history import PUBLICATION_MARK
    from kluis.disclosure.record import write_record

    stage = atomic.staging_dir(out)
    write_outputs(pt, stage / "public", stage / "internal", public=pt.ok)
    write_record(pt, stage / "internal" / "record")
    digest = hashlib.sha256()
    for f in sorted(p for p in stage.rglob("*") if p.is_file()):
        digest.update(str(f.relative_to(stage)).encode() + b"\0" + f.read_bytes())
    mark = {
        "kind": "kluis tables protect output",
        "table": pt.spec.name,
        "may_be_released": bool(pt.ok),
        "publication": digest.hexdigest()[:32],
    }
    atomic.write_text(stage / PUBLICATION_MARK, json.dumps(mark, indent=1) + "\n")
    return stage


@app.command("protect")
def protect_cmd(
    table: Path = typer.Argument(..., help="Microdata (or aggregated) CSV or Parquet file."),
    spec: Path = typer.Option(..., "--spec", help="SPEC.yaml: dimensions, columns, rules."),
    deliberation: Path = typer.Option(
        None,
        "--deliberation",
        help="Deliberation file whose output_rules apply (the spec may only make them "
        "stricter). Without it: the default output rules.",
    ),
    out: Path = typer.Option(
        None, "--out", help="Output directory (default: <TABLE>.protected): public/ + internal/."
    ),
    history: Path = typer.Option(
        None,
        "--history",
        help="Release history directory: audit against every earlier release, and record "
        "this one in the same step as its outputs are published.",
    ),
) -> None:
    """Check every cell, hide what must be hidden, audit, and write the table and the report."""
    from kluis import atomic
    from kluis.disclosure.against_history import protect_against_history
    from kluis.disclosure.api import run
    from kluis.disclosure.history import History
    from kluis.disclosure.rules import apply_rules, baseline, describe
    from kluis.disclosure.spec_file import read_spec

    # everything is checked before anything is written
    sp, line_of = read_spec(spec)
    base = baseline(deliberation)
    sp = apply_rules(sp, base, str(spec), line_of)
    out = out or table.with_name(table.name + ".protected")
    check_out(out, [table, spec] + ([deliberation] if deliberation else []))
    hist = History(history) if history is not None else None
    if hist is not None:
        hist.check()
        if _inside(hist.path, out):
            from kluis.errors import BadInput

            raise BadInput(f"{history}: the release history may not lie inside --out {out}")
    if deliberation is None:
        console.print(f"no --deliberation: checked with {base.source}: {describe(sp.rules)}")
    else:
        console.print(f"rules of {base.source}: {describe(sp.rules)}")

    with console.status("computing cells, rules, suppression and audit"):
        pt = run(table, sp, None, deliberation=base)
    if hist is None:
        stage = _stage(pt, out)
        atomic.publish_dir(stage, out)
        recorded = None
    else:
        with hist.lock():
            with console.status("auditing against the release history"):
                pt = protect_against_history(pt, hist.audit)
            stage = _stage(pt, out)
            if pt.ok:
                recorded = hist.record_and_publish(stage / "internal" / "record", stage, out)
            else:
                atomic.publish_dir(stage, out)
                recorded = None
    _summary(pt, out, recorded)
    if not pt.ok:
        console.print("[red]the table may NOT be released (see the internal report)[/red]")
        raise typer.Exit(1)


def _summary(pt, out: Path, recorded: Path | None) -> None:
    counts = {k: int((pt.status == k).sum()) for k in ("safe", "primary", "secondary")}
    console.print(
        f"{pt.spec.name}: {counts['safe']} safe, {counts['primary']} unsafe, "
        f"{counts['secondary']} complementary; method {pt.method}"
    )
    for f in pt.history_findings:
        colour = "red" if f["severity"] == "error" else "yellow"
        console.print(
            f"[{colour}]{f['kind']}[/{colour}] {f['cell']}: {f['detail']}", soft_wrap=True
        )
    name = pt.spec.name
    if pt.ok:
        console.print(f"may leave (once approved): {out / 'public' / (name + '.csv')}")
    console.print(f"internal, not for release: {out / 'internal'}/")
    if recorded is not None:
        console.print(f"recorded in the release history as {recorded}")
