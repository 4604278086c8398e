"""One row per key (the schema's `Table.key`) and referential integrity (`Column.references`).

The key check first counts duplicated keys with one GROUP BY (the only scan on a clean
warehouse); only when there are some does it scan again to locate them.
"""

from __future__ import annotations

from kluis.schema import TABLES, Table
from kluis.schema import table as schema_table
from kluis.warehouse.checks.problems import Problem
from kluis.warehouse.checks.sql import Runner, quote


def _key_text(key: tuple[str, ...]) -> str:
    return " || ', ' || ".join(f"'{k}=' || {quote(k)}::VARCHAR" for k in key)


def check_key(r: Runner, t: Table) -> None:
    """Report every row whose key value occurs on more than one row."""
    key = t.key
    cols = ", ".join(quote(k) for k in key)
    not_null = " AND ".join(f"{quote(k)} IS NOT NULL" for k in key)

    def run() -> None:
        src = r.source(t.name, key)
        if src is None:
            return
        n_keys, n_rows = r.con.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {src} "
            f"WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)"
        ).fetchall()[0]
        if not n_keys:
            return
        agg = r._agg(None, _key_text(key), order=_key_text(key))
        count, ex = r.con.execute(
            f"SELECT {agg} FROM {src} s SEMI JOIN (SELECT {cols} FROM {src} WHERE {not_null} "
            f"GROUP BY {cols} HAVING count(*) > 1) d USING ({cols})"
        ).fetchall()[0]
        r.problems.append(
            Problem(
                "duplicate_key",
                "error",
                t.name,
                ", ".join(key),
                f"{n_keys} key value(s) of ({', '.join(key)}) occur on more than one row; "
                "the table must have one row per key",
                int(count),
                r._examples(ex),
            )
        )

    r.guarded([t.name], f"key check of {t.name}", run)


def check_references(r: Runner, t: Table) -> None:
    """Report rows whose referencing column has no match in the referenced table."""
    for c in t.columns:
        if not c.references:
            continue
        ref_table, ref_col = c.references.split(".")
        parent_ok = r.files_with(ref_table, [ref_col])
        if not parent_ok:
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
            continue
        col = quote(c.name)

        def bad_rows(col: str = col, rt: str = ref_table, rc: str = ref_col, cn: str = c.name):
            child = r.source(t.name, [cn])
            parent = r.source(rt, [rc])
            if child is None or parent is None:
                return None
            return (
                f"SELECT _file, _row, {col} AS _value FROM {child} c ANTI JOIN "
                f"(SELECT DISTINCT {quote(rc)} AS k FROM {parent}) p ON c.{col} = p.k "
                f"WHERE c.{col} IS NOT NULL"
            )

        kind = schema_table(ref_table)
        r.query_check(
            check="orphan",
            table=t.name,
            column=c.name,
            tables=[t.name, kind.name],
            bad_rows=bad_rows,
            message=f"value has no match in {c.references} (orphan row)",
        )


def key_and_reference_checks(r: Runner) -> None:
    for t in TABLES:
        check_key(r, t)
    for t in TABLES:
        check_references(r, t)
