"""The demo's last step: a researcher's result tables from the 26/104 full extract, checked.

Two outputs a labour-market study would ask for, made through the researcher API with the
deliberation's own output rules:
1. persons by province (in regions) x sex x socio-economic group, with all margins;
2. job-seekers by province (in regions) x months of unemployment (the deliberation's classes).
The extract is coarsened throughout (classes, deciles), so both are frequency tables of distinct
persons. The second is audited together with the first through the release history: they share
the province margin, so a suppression in one must not be recomputable from the other.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

from kluis.deliberation import load
from kluis.demo.context import Demo
from kluis.disclosure.api import ProtectedTable, protect_table, write_outputs
from kluis.disclosure.rules import baseline, describe
from kluis.disclosure.spec import DimensionSpec, Level, TableSpec

DELIBERATION = Path("deliberations/26-104.yaml")
YEAR = 2025  # the last year T that has a T+1 in table1_next


def _table_glob(extract: Path, table: str) -> str:
    """The extract's year partitions of `table` (table/year=YYYY/part-0.parquet)."""
    if not any((extract / table).glob("year=*/*.parquet")):
        raise FileNotFoundError(f"{extract}: no Parquet file for table {table}")
    return (extract / table / "year=*" / "*.parquet").as_posix()


def _frame(glob: str) -> pd.DataFrame:
    src = glob.replace("'", "''")
    return duckdb.sql(
        f"""SELECT person_id, province, sex, substr(sep_code, 1, 1) AS sep_group,
                   months_unemployed
            FROM read_parquet('{src}', hive_partitioning = false) WHERE year = {YEAR}"""
    ).df()


def _specs() -> tuple[TableSpec, TableSpec]:
    """The two tables; no rules in them: the deliberation's apply."""
    province = DimensionSpec(
        column="province",
        codelist="province",
        hierarchy=[Level(level="region", codelist_column="region")],
    )
    persons = TableSpec(
        name="persons_province_sex_sep",
        population=f"26/104 full population, residents aged 15-64, {YEAR}",
        dimensions=[
            province,
            DimensionSpec(column="sex", codelist="sex"),
            DimensionSpec(column="sep_group"),
        ],
        person_id="person_id",
    )
    unemployment = TableSpec(
        name="jobseekers_province_months_unemployed",
        population=f"26/104 full population, job-seekers with months of unemployment, {YEAR}",
        dimensions=[province, DimensionSpec(column="months_unemployed")],
        person_id="person_id",
    )
    return persons, unemployment


def run_disclosure_demo(out: Path, console: Console | None = None) -> Path:
    """Protect two tables with 26/104's rules, auditing the second against the first through
    the release history; public tables go to disclosure/public/, what only the checker sees
    (statuses, reports, the history) to disclosure/internal/. Returns the internal index."""
    console = console or Console()
    deliberation = load(DELIBERATION)
    df = _frame(_table_glob(out / "extracts" / "26-104-full", "table1_next"))
    seekers = df[df["months_unemployed"].notna()].copy()
    target = out / "disclosure"
    public, internal = target / "public", target / "internal"
    history = internal / "release-history"
    shutil.rmtree(target, ignore_errors=True)  # a re-run of the demo starts a fresh history
    summary = Table(
        "cells",
        "unsafe",
        "2nd",
        "audit",
        "leave",
        caption="unsafe: fails a primary rule; 2nd: hidden to protect them; audit: every hidden"
        " cell keeps its protection interval, also with the earlier release; leave: may be"
        " released",
    )
    summary.add_column("table", no_wrap=True)
    written: list[dict[str, Path]] = []
    for spec, data in zip(_specs(), (df, seekers), strict=True):
        pt = protect_table(data, spec, history=history, deliberation=deliberation)
        written.append(write_outputs(pt.result, public, internal, public=pt.ok))
        summary.add_row(*_counts(pt), spec.name)
        for f in pt.result.history_findings:
            console.print(f"  {f['kind']}: {f['cell']}: {f['detail']}", soft_wrap=True)
    console.print(
        f"rules of deliberation {deliberation.number}: {describe(baseline(deliberation).rules)}"
    )
    console.print(summary)
    index = internal / "index.html"
    index.write_text(_index(written), encoding="utf-8")
    return index


def _counts(pt: ProtectedTable) -> list[str]:
    st = pt.result.status
    violated = sum(int(c.violated.sum()) for c in pt.result.audit.values())
    return [
        f"{st.size:,}",
        f"{int((st == 'primary').sum()):,}",
        f"{int((st == 'secondary').sum()):,}",
        "ok" if violated == 0 else f"{violated} short",
        "yes" if pt.ok else "NO",
    ]


def _index(written: list[dict[str, Path]]) -> str:
    items = "".join(
        f'<li><a href="{w["report"].name}">{w["report"].name}</a>'
        f' (<a href="{w["status"].name}">cell statuses</a>'
        + (
            f', public table: <a href="../public/{w["table"].name}">{w["table"].name}</a>'
            if "table" in w
            else ", may NOT be released"
        )
        + ")</li>"
        for w in written
    )
    return (
        '<!doctype html><meta charset="utf-8"><title>kluis demo: disclosure checks</title>'
        "<p><b>INTERNAL - NOT FOR RELEASE.</b> For the output checker; what may leave is in"
        " ../public/.</p>"
        f"<h1>Small cell risk analysis of the demo's result tables</h1><ul>{items}</ul>"
    )


def run(demo: Demo) -> list[str]:
    demo.console.rule("[bold]Small cell risk analysis of a phase-2 result")
    index = run_disclosure_demo(demo.out, demo.console)
    return [
        f"Disclosure check report (HTML):      {index}",
        f"Tables that may leave (public):      {index.parent.parent / 'public'}",
    ]
