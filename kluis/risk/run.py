"""`kluis risk` end to end: read the table, apply the deliberation's settings and any recode,
measure, suppress if asked, measure again, and publish DIR atomically (risk.json, risk.html and
the protected table), recorded in the catalogue.

Settings come from the command line, else from the deliberation's `risk:` section. Nothing in
the report identifies a record: it holds counts, risks and the key combinations of the
development data itself (never a sequence number, a household id or a sensitive value); with a
full population (--population), its counts are never shown per combination.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from kluis.errors import BadInput
from kluis.risk import recode as recoding
from kluis.risk.individual import Estimate
from kluis.risk.measure import Measured, measure
from kluis.risk.source import Study, TableError, build_records, check_study, open_table
from kluis.risk.sql import ident

REPORT = "risk.json"
MISSING_RULE = (
    "sdcMicro's: a missing key value matches every value (fk counts the records compatible "
    "with a record); all-missing records have fk = all records and, with more than one key, "
    "do not count for records without missing values"
)


@dataclass
class Options:
    """What the command line asks; None means: take it from the deliberation."""

    table: Path
    out: Path
    keys: tuple[str, ...] | None = None
    deliberation: Path | None = None
    k: int | None = None
    weight: str | None = None
    population: Path | None = None
    household: str | None = None
    sensitive: str | None = None
    person: str | None = None
    year: str | None = None
    recode: dict[str, str] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)
    suppress: bool = False
    optimise: str = "auto"
    memory_limit: str = "4GB"
    threads: int = 2


@dataclass
class RiskRun:
    out: Path
    body: dict
    before: Measured
    after: Measured | None = None


def _manifest(table: Path) -> dict:
    """The extract manifest of an extract table directory (empty for other tables)."""
    path = table / ".." / "manifest.json" if table.is_dir() else None
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def settle(opts: Options, columns: dict[str, str]):
    """The study (and the deliberation, if any) from the command line and the deliberation."""
    d = None
    if opts.deliberation is not None:
        from kluis.deliberation import load

        d = load(opts.deliberation)
    manifest = _manifest(opts.table)
    if d is not None and manifest.get("deliberation") not in (None, d.number):
        raise BadInput(
            f"{opts.table} was extracted under deliberation {manifest['deliberation']}, "
            f"not {d.number} ({opts.deliberation})"
        )
    rs = d.risk if d is not None else None
    keys = opts.keys or (rs.keys if rs else None)
    if not keys:
        where = f"{opts.deliberation} has no risk.keys" if d is not None else "no --deliberation"
        raise BadInput(f"no key variables: give --keys ({where})")
    person = opts.person or (rs.person if rs and not opts.keys else None)
    year = opts.year
    if year is None and "year" in columns and (person is not None or manifest):
        year = "year"  # extract tables are yearly tables: the year T is in column `year`
    study = Study(
        keys=tuple(keys),
        k=opts.k or (rs.k if rs else 3),
        weight=opts.weight or (rs.weight if rs and opts.population is None else None),
        household=opts.household or (rs.household if rs else None),
        sensitive=opts.sensitive or (rs.sensitive if rs else None),
        person=person,
        year=year,
    )
    importance = dict(rs.importance) if rs else {}
    importance.update(opts.importance)
    unknown = sorted(set(importance) - set(study.keys))
    if unknown:
        raise BadInput(f"--importance names {', '.join(unknown)}, which are not key variables")
    return study, d, manifest, [float(importance.get(k, 1.0)) for k in study.keys]


def connect(opts: Options, scratch: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {int(opts.threads)}")
    con.execute(f"SET memory_limit = '{opts.memory_limit}'")
    con.execute(f"SET temp_directory = '{scratch}'")
    con.execute("SET preserve_insertion_order = true")
    return con


def run_risk(opts: Options) -> RiskRun:
    """Measure (and lower) the risk of `opts.table`; publish `opts.out`."""
    from kluis.atomic import locked, publish_dir, staging_dir
    from kluis.risk import report

    _check_out(opts.out)
    scratch = Path(tempfile.mkdtemp(prefix="kluis-risk-"))
    try:
        con = connect(opts, scratch)
        columns = open_table(con, opts.table, "src_raw")
        study, d, manifest, importance = settle(opts, columns)
        if opts.recode and d is None:
            raise BadInput("--recode needs --deliberation: the classes come from the deliberation")
        recodes = recoding.plan(d, opts.recode) if opts.recode else []
        check_study(opts.table, columns, study, population=opts.population is not None)
        recoding.recoded_view(con, "src_raw", "src", recodes, str(opts.table), columns)
        record_level = opts.suppress or study.household or study.sensitive or study.person
        source = "src"
        if opts.suppress:
            con.execute("CREATE OR REPLACE TEMP TABLE src_t AS SELECT * FROM src")
            source = "src_t"
        build_records(con, opts.table, source, study, "rec", materialize=bool(record_level))
        if not con.execute("SELECT count(*) FROM (SELECT 1 FROM rec LIMIT 1)").fetchall()[0][0]:
            raise TableError(f"{opts.table}: no records to measure")
        estimate: Estimate = "weights" if study.weight else "none"
        pop = None
        if opts.population is not None:
            estimate, pop = "population", _population(con, opts, study, recodes)
        before = measure(con, study, "rec", estimate=estimate, population=pop, prefix="m")
        body = _header(opts, study, d, manifest, estimate, recodes, importance)
        body.update(before.body)
        after = None
        with locked(opts.out):  # two runs into one DIR: one after the other
            tmp = staging_dir(opts.out)
            try:
                if opts.suppress:
                    after = _suppress(con, opts, study, importance, estimate, pop, body, tmp)
                report.write(tmp, body, before, after, study, population=pop is not None)
                _check_out(opts.out)
                # catalogued first: a run killed between the two leaves a record of a report
                # that may not exist, never a report that retention does not know about
                _register(opts, d, manifest, body)
                publish_dir(tmp, opts.out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return RiskRun(out=opts.out, body=body, before=before, after=after)


def _check_out(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BadInput(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT).is_file():
        raise BadInput(
            f"{out} exists, is not empty and is not a risk report; refusing to replace it"
        )


def _population(con, opts: Options, study: Study, recodes) -> str:
    cols = open_table(con, opts.population, "pop_raw")
    pop_study = Study(keys=study.keys, k=study.k, year=study.year)
    try:
        check_study(opts.population, cols, pop_study, population=False)
    except TableError as e:
        raise TableError(f"population: {e}") from None
    recoding.recoded_view(con, "pop_raw", "pop", recodes, str(opts.population), cols)
    types = {r[0]: str(r[1]) for r in con.execute("DESCRIBE pop").fetchall()}
    sample = {r[0]: str(r[1]) for r in con.execute("DESCRIBE src").fetchall()}
    for col in (*study.keys, *([study.year] if study.year else [])):
        if types[col] != sample[col]:
            raise TableError(
                f"population {opts.population}: column {col!r} is {types[col]}, but "
                f"{sample[col]} in {opts.table}: not the same kind of table"
            )
    build_records(con, opts.population, "pop", pop_study, "poprec", materialize=False)
    return "poprec"


def _header(opts, study, d, manifest, estimate, recodes, importance) -> dict:
    return {
        "report": "kluis risk",
        "table": str(opts.table),
        "deliberation": d.number if d is not None else manifest.get("deliberation"),
        "settings": {
            "keys": list(study.keys),
            "k": study.k,
            "weight": study.weight,
            "population": str(opts.population) if opts.population else None,
            "household": study.household,
            "sensitive": study.sensitive,
            "person": study.person,
            "year": study.year,
            "Fk": {
                "weights": "sum of the sampling weights",
                "population": "count in the full population",
                "none": "no weights: Fk = fk, individual risk 1/fk",
            }[estimate],
            "recode": {r.variable: r.as_json() for r in recodes},
            "importance": dict(zip(study.keys, importance, strict=True)),
        },
        "missing_value_rule": MISSING_RULE,
    }


def _suppress(con, opts, study, importance, estimate, pop, body, tmp: Path) -> Measured:
    from kluis.risk.suppress import released_masks, suppress

    result = suppress(con, "rec", study.keys, study.k, importance, optimise=opts.optimise)
    released_masks(con, "rec", result, "rmask")
    n_keys = len(study.keys)
    nulled = ", ".join(
        f"CASE WHEN (m.mask & {1 << i}) = 0 THEN r.k{i} END AS k{i}" for i in range(n_keys)
    )
    cols = [c[0] for c in con.execute("DESCRIBE rec").fetchall()]
    rest = ", ".join(f"r.{c}" for c in cols if not (c.startswith("k") and c[1:].isdigit()))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rec_s AS
        SELECT {nulled}, {rest} FROM rec r JOIN rmask m ON m.rid = r.rowid ORDER BY r.rowid"""
    )
    after = measure(con, replace(study), "rec_s", estimate=estimate, population=pop, prefix="a")
    body["suppressions"] = result.as_json()
    body["after_suppression"] = after.body
    keys_sql = ", ".join(
        f"CASE WHEN (m.mask & {1 << i}) = 0 THEN t.{ident(k)} END AS {ident(k)}"
        for i, k in enumerate(study.keys)
    )
    target = tmp / "suppressed.parquet"
    con.execute(
        f"""COPY (SELECT t.* EXCLUDE (__rid) REPLACE ({keys_sql})
                  FROM (SELECT rowid AS __rid, * FROM src_t) t JOIN rmask m ON m.rid = t.__rid
                  ORDER BY t.__rid)
            TO '{target}' (FORMAT parquet)"""
    )
    body["protected_table"] = target.name
    return after


def _register(opts: Options, d, manifest: dict, body: dict) -> None:
    from kluis import audit
    from kluis.audit import catalogue

    retention = d.retention if d is not None else manifest.get("retention")
    catalogue.register(
        "risk-report",
        opts.out,
        deliberation=body.get("deliberation"),
        retention=retention,
        table=str(opts.table),
        keys=list(body["settings"]["keys"]),
        suppressed=bool(opts.suppress),
    )
    audit.note(deliberation=body.get("deliberation"), wrote={"risk-report": str(opts.out)})
