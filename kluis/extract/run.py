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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kluis.deliberation import Deliberation, check_in_force, load
from kluis.engine import EngineOptions, connect
from kluis.extract.context import PHASES, Builder, ExtractContext
from kluis.extract.delivery.publish import Published, check_target, workdir_for, write_extract
from kluis.extract.progress import steps
from kluis.pseudonym import KeyStore
from kluis.warehouse.layout import read_meta

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
        raise ValueError(f"no extractor for population unit {unit!r}") from None
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
    engine_options: EngineOptions | None = None,
    spark_session: Any = None,
    progress: Callable[[str], None] | None = None,
) -> Published:
    """Extract what the deliberation authorises from the warehouse into OUT.

    Refuses (before reading any data) when the deliberation file does not pass its checks
    (DeliberationError), is not in force on `today` (NotInForce), or has no key (KeyStoreError).
    `registry` holds the other deliberations for the in-force check (default: deliberations/)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; choose one of {', '.join(PHASES)}")
    path = Path(deliberation_path)
    d = load(path)
    check_in_force(d, today or dt.date.today(), registry)
    key = KeyStore(keystore).load(d.number)
    meta = read_meta(warehouse)
    builder = builder_for(d)
    check_target(Path(out))
    eng = connect(engine, engine_options, spark_session=spark_session)
    workdir = workdir_for(Path(out))
    try:
        ctx = ExtractContext(
            deliberation=d,
            deliberation_path=path,
            warehouse=Path(warehouse),
            warehouse_meta=meta,
            phase=phase,  # type: ignore[arg-type]
            engine=eng,
            key=key,
            today=today or dt.date.today(),
            inputs=dict(inputs or {}),
            progress=steps(progress),
            workdir=workdir,
        )
        tables = builder(ctx)
        return write_extract(ctx, tables, Path(out), formats=formats, info=manifest_info(ctx))
    finally:
        eng.close()
        shutil.rmtree(workdir, ignore_errors=True)
