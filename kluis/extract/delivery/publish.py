"""Write an extract beside its target and publish it atomically.

Everything goes into a hidden temporary directory next to OUT (same file system); only when
every file, the data package, the codebook and the manifest are written and synced is it put in
place with one rename (or an atomic exchange with a previous extract, via renameat2). A run
killed at any moment leaves either no OUT, or the previous OUT untouched. Stale temporaries of
dead runs are removed by the next run.

Layout of OUT:
  <table>/year=YYYY/part-0.parquet   sav/<table>_YYYY.sav   dta/<table>_YYYY.dta
  datapackage.json   codebook.md   manifest.json
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.atomic import publish_dir, staging_dir
from kluis.digest import sha256_file
from kluis.errors import BadInput, Refused
from kluis.extract.context import ExtractContext, OutputTable
from kluis.extract.delivery.describe import codebook, datapackage
from kluis.extract.delivery.formats import (
    FORMATS,
    arrow_schema,
    conform_output,
    write_dta,
    write_sav,
    write_sorted,
)
from kluis.extract.progress import expect

MANIFEST = "manifest.json"


class PublishError(BadInput):
    """OUT cannot be (re)placed safely."""


@dataclass(frozen=True)
class Published:
    out: Path
    manifest: dict[str, Any]


def workdir_for(out: Path) -> Path:
    """A private scratch directory beside OUT for a run's staged intermediates (the caller
    removes it; a killed run's is removed by the next run, like its temporary)."""
    return staging_dir(out, "work")


def check_target(out: Path) -> None:
    """Refuse an OUT that is a file, a link, or a non-empty directory that is no extract."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise PublishError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise PublishError(
            f"{out} exists, is not empty and is not a kluis extract (no {MANIFEST}); "
            "refusing to replace it"
        )


def check_replaceable(out: Path, deliberation: str, phase: str) -> None:
    """An extract already in OUT is replaced only by a new run of the same deliberation and
    phase: a development extract never silently takes the place of a full one (or of another
    deliberation's)."""
    check_target(out)
    manifest = out / MANIFEST
    if not manifest.is_file():
        return
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        held = (str(old["deliberation"]), str(old["phase"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(
            f"{manifest}: not a readable kluis manifest ({exc}); refusing to replace {out}"
        ) from None
    if held != (deliberation, phase):
        raise Refused(
            f"{out} holds the {held[1]} extract of deliberation {held[0]}; refusing to replace "
            f"it with the {phase} extract of {deliberation}: choose another --out"
        )


def _collect(ctx: ExtractContext, table: OutputTable, year: int) -> pa.Table:
    """One table-year, conformed to its output types, in no particular order. The engine
    streams (no sort there: sorting in Arrow is much cheaper than sorting 150 wide columns in
    the engine), each batch is conformed as it arrives (dictionary codes are small)."""
    data = table.years[year]
    schema = arrow_schema(table)
    if isinstance(data, ir.Table):
        parts = [
            conform_output(table, chunk)
            for chunk in ctx.engine.to_batches(data.select(*table.column_names))
            if chunk.num_rows
        ]
    else:
        if callable(data):
            data = data()
        parts = [conform_output(table, data)] if data.num_rows else []
    return pa.concat_tables(parts) if parts else schema.empty_table()


_DONE = object()


def _prefetch(
    ctx: ExtractContext, jobs: list[tuple[OutputTable, int]], ahead: int = 1
) -> Iterator[tuple[OutputTable, int, pa.Table]]:
    """Yield the collected table-years in order, computing the next one in a background thread
    while the caller writes the current one (the engine releases the GIL). At most `ahead` + 1
    table-years are held in memory."""
    slots = threading.Semaphore(ahead + 1)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for table, year in jobs:
                slots.acquire()
                if stop.is_set():
                    return
                results.put((table, year, _collect(ctx, table, year)))
            results.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer and re-raised
            results.put(exc)

    worker = threading.Thread(target=produce, name="kluis-extract-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = results.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            slots.release()
    finally:  # on early exit let the producer finish its current query (it uses the engine)
        stop.set()
        slots.release()
        worker.join()


def _readstat(write: Callable[..., None], table: OutputTable, data: pa.Table, path: Path) -> None:
    """pyreadstat reports a failed write (a full disk, a file size limit) as its own error, not
    as OSError: say what could not be written."""
    import pyreadstat

    try:
        write(table, data, path)
    except pyreadstat.ReadstatError as exc:
        raise PublishError(
            f"cannot write {path.name} ({exc}: is the disk full?); nothing was published"
        ) from None


def write_extract(
    ctx: ExtractContext,
    tables: list[OutputTable],
    out: Path,
    *,
    formats: tuple[str, ...] = ("parquet",),
    info: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> Published:
    """Write `tables` and their documentation to OUT, atomically. `info` carries the manifest
    header (deliberation number, hash, warehouse id, key fingerprint, engine, phase, ...)."""
    say = progress or ctx.progress
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise PublishError(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
    out = Path(out).absolute()
    check_target(out)
    tmp = staging_dir(out)
    try:
        rows: dict[str, dict[int, int]] = {t.name: {} for t in tables}
        parquet_files: dict[str, list[str]] = {t.name: [] for t in tables}
        # year by year: builders may share the work of a year between its tables
        jobs = sorted(
            ((t, y) for t in tables for y in t.years), key=lambda j: (j[1], tables.index(j[0]))
        )
        statistical = [f for f in ("sav", "dta") if f in formats]
        expect(say, len(jobs) * (1 + len(statistical)) + 2)  # + describing, publishing
        for table, year, data in _prefetch(ctx, jobs):
            say(f"writing {table.name} {year}")
            rel = f"{table.name}/year={year}/part-0.parquet"
            path = tmp / rel
            rows[table.name][year] = write_sorted(data, path, table.sort_by)
            parquet_files[table.name].append(rel)
            del data
            if "sav" in formats or "dta" in formats:
                data = pq.read_table(path)
                if "sav" in formats:
                    say(f"writing {table.name} {year} for SPSS")
                    _readstat(write_sav, table, data, tmp / "sav" / f"{table.name}_{year}.sav")
                if "dta" in formats:
                    say(f"writing {table.name} {year} for Stata")
                    _readstat(write_dta, table, data, tmp / "dta" / f"{table.name}_{year}.dta")
                del data
        say("describing the extract")
        formats_written = tuple(f for f in FORMATS if f in formats or f == "parquet")
        for name, text in sorted(ctx.attachments.items()):  # builder's extra files (issue 5)
            if (
                "/" in name
                or name.startswith(".")
                or name in ("datapackage.json", "codebook.md", MANIFEST)
            ):
                raise PublishError(f"attachment name {name!r} is not allowed")
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "datapackage.json").write_text(
            json.dumps(datapackage(info, tables, parquet_files), indent=2, ensure_ascii=False)
            + "\n",
            encoding="utf-8",
        )
        (tmp / "codebook.md").write_text(
            codebook(info, tables, rows, formats_written), encoding="utf-8"
        )
        files = {
            p.relative_to(tmp).as_posix(): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        manifest = {
            **{k: v for k, v in info.items() if not k.startswith("_")},
            "formats": list(formats_written),
            "rows": {t: {str(y): n for y, n in sorted(r.items())} for t, r in rows.items()},
            "files": files,
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        say("publishing")
        publish_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Published(out=out, manifest=manifest)


def verify(out: Path) -> list[str]:
    """Problems with a published extract (missing, extra or altered files); empty when sound."""
    out = Path(out)
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{out / MANIFEST}: {exc}"]
    problems = []
    listed = manifest.get("files", {})
    present = {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    for rel in sorted(set(listed) - present):
        problems.append(f"missing file {rel}")
    for rel in sorted(present - set(listed)):
        problems.append(f"unlisted file {rel}")
    for rel in sorted(set(listed) & present):
        if sha256_file(out / rel) != listed[rel]:
            problems.append(f"altered file {rel}")
    return problems
