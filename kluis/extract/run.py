"""One extraction run: deliberation in force -> key -> engine -> builder -> atomic publish.

`run_extract` is what `kluis extract` calls; tests and the demo call it directly. The builder is
chosen by the deliberation's population unit (`BUILDERS`), so a new kind of study adds a
builder module, not a new command.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kluis.atomic import locked
from kluis.deliberation import (
    DERIVED,
    Deliberation,
    check_in_force,
    check_within_retention,
    load,
    resolve,
)
from kluis.deliberation.registry import load_registry
from kluis.engine import EngineOptions, connect
from kluis.errors import BadInput, Refused
from kluis.extract.context import PHASES, Builder, ExtractContext
from kluis.extract.delivery.publish import (
    Published,
    PublishError,
    check_replaceable,
    workdir_for,
    write_extract,
)
from kluis.extract.progress import steps
from kluis.pseudonym import KeyStore
from kluis.warehouse.catalogued import writing
from kluis.warehouse.layout import read_meta
from kluis.warehouse.preflight import check_for_extract

# population unit -> "module:function" of its builder (see kluis.extract.context.Builder)
BUILDERS: dict[str, str] = {
    "person": "kluis.extract.panels.build:build",
    "employer": "kluis.extract.employers.build:build",
}


def builder_for(d: Deliberation) -> Builder:
    unit = d.population.unit
    try:
        module, func = BUILDERS[unit].split(":")
    except KeyError:
        raise BadInput(f"no extractor for population unit {unit!r}") from None
    return getattr(importlib.import_module(module), func)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("kluis")
    except Exception:  # noqa: BLE001 - not installed: source checkout
        return "0+unknown"


def manifest_info(ctx: ExtractContext) -> dict[str, Any]:
    """Header of manifest.json (also feeds the data package and codebook). No dates or host
    names: a rerun must give byte-identical files."""
    d = ctx.deliberation
    phase = d.phases.development if ctx.phase == "development" else d.phases.full
    return {
        "deliberation": d.number,
        "deliberation_slug": d.slug,
        "deliberation_file": ctx.deliberation_path.name,
        "deliberation_sha256": hashlib.sha256(ctx.deliberation_path.read_bytes()).hexdigest(),
        "title": " ".join(d.title.split()),
        "recipient": d.recipient,
        "retention": d.retention.isoformat(),
        "phase": ctx.phase,
        "phase_description": " ".join(phase.description.split()),
        "warehouse_id": ctx.warehouse_meta["id"],
        "warehouse_years": list(ctx.warehouse_meta["years"]),
        "key_fingerprint": ctx.key.fingerprint,
        "engine": ctx.engine.name,
        "kluis_version": _version(),
    }


def run_extract(
    deliberation_path: Path | str,
    warehouse: Path | str,
    phase: str,
    out: Path | str,
    *,
    engine: str = "duckdb",
    formats: tuple[str, ...] = ("parquet",),
    keystore: Path | str | None = None,
    today: dt.date | None = None,
    inputs: Mapping[str, Path] | None = None,
    registry: Any = None,
    deliberations: Path | str | None = None,
    engine_options: EngineOptions | None = None,
    spark_session: Any = None,
    progress: Callable[[str], None] | None = None,
) -> Published:
    """Extract what the deliberation authorises from the warehouse into OUT.

    Refuses before reading any data when the deliberation file does not pass its checks
    (DeliberationError), is not in force on `today` (NotInForce), has no key (KeyStoreError),
    or when the warehouse's files of the years concerned are unreadable, mistyped or hold a
    key twice (WarehouseDataError); and before writing when OUT holds something else, another
    run is writing it, or it holds an extract of another deliberation or phase. `registry`
    holds the other deliberations for the in-force check (default: the registry in
    `deliberations`, else $KLUIS_DELIBERATIONS or $KLUIS_HOME/deliberations; refused when it
    cannot be read)."""
    if phase not in PHASES:
        raise BadInput(f"unknown phase {phase!r}; choose one of {', '.join(PHASES)}")
    path = Path(deliberation_path)
    day = today or dt.date.today()
    d = load(path)
    if registry is None:
        registry = load_registry(deliberations)
    check_in_force(d, day, registry)
    check_within_retention(d, day, registry)  # the retention day itself: due for destruction
    key = KeyStore(keystore).load(d.number)
    meta = read_meta(warehouse)
    _note_reads(d, path, key.fingerprint, meta)
    builder = builder_for(d)
    if inputs and d.population.unit != "employer":
        raise BadInput(
            f"deliberation {d.number} takes no input list ({', '.join(sorted(inputs))}): "
            "only employer studies do"
        )
    out = Path(out).absolute()
    check_replaceable(out, d.number, phase)
    say = steps(progress)  # counts the steps when given a Steps (the CLI's progress bar)
    say("checking the warehouse")
    check_for_extract(
        warehouse, _years_read(d, meta), tables=tables_read(d), **_resources(engine_options)
    )
    try:
        with locked(out, wait=False, remove=True):
            check_replaceable(out, d.number, phase)  # again: another run may have published
            with (
                writing("extract", out, deliberation=d.number, retention=d.retention) as record,
                _terminate_cleanly(),
            ):
                eng = connect(engine, engine_options, spark_session=spark_session)
                workdir = workdir_for(out)
                try:
                    ctx = ExtractContext(
                        deliberation=d,
                        deliberation_path=path,
                        warehouse=Path(warehouse),
                        warehouse_meta=meta,
                        phase=phase,  # type: ignore[arg-type]
                        engine=eng,
                        key=key,
                        today=day,
                        inputs=dict(inputs or {}),
                        progress=say,
                        workdir=workdir,
                    )
                    tables = builder(ctx)
                    info = manifest_info(ctx)
                    published = write_extract(ctx, tables, out, formats=formats, info=info)
                    _receipt(d, published)
                except _engine_errors(engine) as exc:
                    raise EngineError(_engine_message(engine, exc)) from None
                finally:
                    eng.close()
                    shutil.rmtree(workdir, ignore_errors=True)
                record(phase=phase, rows=_total_rows(published.manifest))
                return published
    except BlockingIOError:
        raise Refused(f"{out} is being written by another kluis run; wait for it to end") from None
    except OSError as exc:
        raise PublishError(
            f"extract into {out} failed: {_first_line(exc)}; nothing was published"
        ) from None


class EngineError(BadInput):
    """The engine failed on the warehouse's data or ran out of memory (said how to go on)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _engine_errors(engine: str) -> tuple[type[BaseException], ...]:
    """The exception classes of the engine's own failures (imported only when used)."""
    if engine == "duckdb":
        import duckdb

        return (duckdb.Error,)
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover - spark extra not installed
        return ()
    return (PySparkException,)


def _engine_message(engine: str, exc: BaseException) -> str:
    if type(exc).__name__ == "OutOfMemoryException":
        return f"the {engine} engine ran out of memory ({_first_line(exc)}): raise --memory-limit"
    return f"the {engine} engine failed: {_first_line(exc)}"


def _years_read(d: Deliberation, meta: Mapping[str, Any]) -> tuple[int, int]:
    """The warehouse years an extract may read: the deliberation's years with T-1 and T+1."""
    years = d.population.years
    first, last = (int(y) for y in meta["years"])
    return max(first, years.first - 1), min(last, years.last + 1)


# what every builder of a population unit reads, whatever the variables
_BASE_TABLES = {
    "person": ("persons", "person_year"),
    "employer": ("persons", "person_year", "employers", "employments"),
}


def tables_read(d: Deliberation) -> set[str]:
    """The warehouse tables an extract of `d` reads: its unit's base tables and the tables of
    its variables' sources (derived values through their inputs)."""
    tables = set(_BASE_TABLES.get(d.population.unit, ()))
    for v in d.variables:
        r = resolve(v.source)
        if r.kind == "column":
            tables.add(r.table)
        elif r.kind == "derived":
            tables |= {i.split(".")[0] for i in DERIVED[r.column].inputs}
    return tables


def _resources(opts: EngineOptions | None) -> dict[str, Any]:
    opts = opts or EngineOptions()
    return {"memory_limit": opts.memory_limit, "threads": opts.threads}


def _total_rows(manifest: Mapping[str, Any]) -> int:
    return sum(n for per_year in manifest["rows"].values() for n in per_year.values())


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: the `finally` blocks remove the staged temporaries
    (only `kill -9` leaves them, for the next run's sweep). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    stopped: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        stopped.append(signum)
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException:
        # DuckDB turns the SystemExit raised inside a running query into its own error
        # ("Query interrupted"): the run still ends as terminated
        if stopped:
            raise SystemExit(128 + stopped[0]) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, before)


def _note_reads(d: Deliberation, path: Path, key: str, meta: Mapping[str, Any]) -> None:
    """What this run reads, for its audit record."""
    from kluis.audit import note

    deliberation_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    note(
        deliberation=d.number,
        read={"deliberation": deliberation_hash, "warehouse": str(meta.get("id")), "key": key},
    )


def _receipt(d: Deliberation, published: Published) -> None:
    """Record the publication in the audit log with a signed checkpoint, and put its head
    beside OUT (`OUT.audit-head.json`: not in OUT, which stays byte-identical for the same
    inputs)."""
    from kluis.audit import note
    from kluis.audit.heads import receipt_path, write_head

    manifest = hashlib.sha256((published.out / "manifest.json").read_bytes()).hexdigest()
    label = f"extract {d.number} {published.manifest.get('phase')}"
    write_head(
        receipt_path(published.out),
        label,
        deliberation=d.number,
        out=str(published.out),
        manifest_sha256=manifest,
    )
    note(wrote={"manifest": manifest})
