"""Generate a synthetic, calibrated warehouse: every table of kluis.schema, year by year.

The population is simulated with vectorised NumPy state carried from year to year (see
kluis.warehouse.gen), starting a few burn-in years before the first output year so that the first
year already looks settled. Output goes to a hidden staging directory beside `out` and is
published atomically at the end (kluis.atomic): a warehouse is either complete or absent. The
target is catalogued before anything is staged, so the leftover of a killed run is found and
swept (kluis.warehouse.catalogued).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kluis import __version__
from kluis.atomic import locked, publish_dir, staging_dir
from kluis.errors import BadInput, Refused
from kluis.schema import FIRST_YEAR, LAST_YEAR, TABLES
from kluis.warehouse.catalogued import writing
from kluis.warehouse.gen.final_tables import write_employers, write_persons
from kluis.warehouse.gen.simulation import Simulation
from kluis.warehouse.layout import META_FILE, file_digests, warehouse_id, write_meta

GENERATOR = f"kluis-synthetic/{__version__}"
BURN_IN = 4
MIN_PERSONS = 200

Progress = Callable[[str, int, int], None]


class GenerateError(BadInput, ValueError):
    """Bad arguments for the generator or an output directory it must not overwrite."""


def _check(out: Path, persons: int, years: tuple[int, int]) -> None:
    first, last = years
    if persons < MIN_PERSONS:
        raise GenerateError(f"persons must be at least {MIN_PERSONS} (got {persons})")
    if not (FIRST_YEAR <= first <= last <= LAST_YEAR):
        raise GenerateError(
            f"years must lie within {FIRST_YEAR}-{LAST_YEAR} with first <= last "
            f"(got {first}-{last})"
        )
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / META_FILE).is_file())
    ):
        raise GenerateError(f"{out}: exists and is not a kluis warehouse; refusing to overwrite")


def generate_warehouse(
    out: Path | str,
    persons: int,
    years: tuple[int, int] = (FIRST_YEAR, LAST_YEAR),
    seed: int = 0,
    progress: Progress | None = None,
) -> dict:
    """Generate a warehouse of about `persons` residents aged 15-64 per year into `out`.

    Returns the metadata written to warehouse.json (id, seed, persons, years, generator, and the
    row count per table). `progress(description, done, total)` is called after each simulated year.
    """
    out = Path(out).absolute()
    years = (int(years[0]), int(years[1]))
    _check(out, persons, years)
    try:
        with locked(out, wait=False, remove=True), writing("warehouse", out) as record:
            _check(out, persons, years)  # again, under the lock
            meta = _generate_into(out, persons, years, seed, progress)
            record(id=meta["id"], persons=persons, years=meta["years"])
            return meta
    except BlockingIOError:
        raise Refused(f"{out} is being written by another kluis run; wait for it to end") from None
    except OSError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GenerateError(f"generating {out} failed: {text}; nothing was published") from None


def _generate_into(
    out: Path, persons: int, years: tuple[int, int], seed: int, progress: Progress | None
) -> dict:
    """Simulate into a hidden staging directory beside `out`, then publish it atomically."""
    first, last = years
    tmp = staging_dir(out)
    try:
        sim = Simulation(persons, seed, first - BURN_IN)
        rows = {t.name: 0 for t in TABLES}
        sim_years = list(range(first - BURN_IN, last + 1))
        total = len(sim_years) + 1
        # a year's tables are written in a second thread while the next year is simulated
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future | None = None
            for done, year in enumerate(sim_years, start=1):
                jobs = sim.step(year, tmp if year >= first else None)
                for job in jobs:
                    rows[job.table] += job.n_rows
                if pending is not None:
                    pending.result()
                pending = pool.submit(lambda jobs=jobs: [job.run() for job in jobs])
                if progress:
                    label = f"year {year}" if year >= first else f"burn-in {year}"
                    progress(label, done, total)
            if pending is not None:
                pending.result()
        rows["persons"] = write_persons(tmp, sim.pop)
        rows["employers"] = write_employers(tmp, sim.er)
        meta = {
            "id": warehouse_id(file_digests(tmp)),
            "seed": seed,
            "persons": persons,
            "years": [first, last],
            "generator": GENERATOR,
            "burn_in_years": BURN_IN,
            "rows": rows,
        }
        write_meta(tmp, meta)
        if progress:
            progress("persons and employers", total, total)
        os.chmod(tmp, 0o755)  # staged private; a published warehouse is readable as before
        publish_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta
