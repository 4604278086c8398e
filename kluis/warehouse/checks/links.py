"""Referential integrity (`Column.references`) and the checks that need the referenced row.

Each reference is one LEFT JOIN of the referencing table to the referenced one; the same join
screens orphans (no match) and the cross-table plausibility checks of `dates.link_checks`
(e.g. a person_year row after the person's death), so the big tables are joined once per
reference, not once per check.
"""

from __future__ import annotations

from kluis.schema import TABLES, Column, Table
from kluis.warehouse.checks.dates import link_checks
from kluis.warehouse.checks.problems import Problem
from kluis.warehouse.checks.sql import RowCheck, Runner, quote


def _link(r: Runner, t: Table, c: Column) -> None:
    ref_table, ref_col = c.references.split(".")
    child_cols, parent_cols, extra = link_checks(t.name, ref_table)
    if not r.files_with(ref_table, [ref_col]):
        r.problems.append(
            Problem(
                "check_skipped",
                "warning",
                t.name,
                c.name,
                f"{c.name} not checked against {c.references}: no readable file of "
                f"{ref_table} has a usable {ref_col}",
            )
        )
        return
    col = quote(c.name)
    orphan = RowCheck(
        "orphan",
        t.name,
        c.name,
        (c.name,),
        f"NOT _matched AND {col} IS NOT NULL",
        col,
        f"value has no match in {c.references} (orphan row)",
    )
    child_all = list(dict.fromkeys([c.name, *child_cols]))
    full = len(r.files_with(t.name, child_all)) == len(r.files_with(t.name, [c.name])) and len(
        r.files_with(ref_table, [ref_col, *parent_cols])
    ) == len(r.files_with(ref_table, [ref_col]))
    if not full:  # a column the extra checks need is missing (reported as column_missing or
        # column_type): drop those checks rather than leave files out of the orphan check
        extra, child_all, parent_cols = [], [c.name], []
    assert not set(child_all) & set(parent_cols), "joined column names must not clash"

    def src() -> str | None:
        child = r.source(t.name, child_all)
        parent = r.source(ref_table, [ref_col, *parent_cols])
        if child is None or parent is None:
            return None
        pcols = "".join(f", p.{quote(x)}" for x in parent_cols)
        ccols = ", ".join(f"c.{quote(x)}" for x in child_all)
        return (
            f"SELECT c._file, c._row, {ccols}{pcols}, p._k IS NOT NULL AS _matched "
            f"FROM {child} c LEFT JOIN (SELECT {quote(ref_col)} AS _k"
            f"{''.join(', ' + quote(x) for x in parent_cols)} FROM {parent}) p "
            f"ON c.{col} = p._k"
        )

    r.screened([t.name, ref_table], f"references of {t.name}.{c.name}", src, [orphan, *extra])


def link_checks_all(r: Runner) -> None:
    for t in TABLES:
        for c in t.columns:
            if c.references:
                _link(r, t, c)
