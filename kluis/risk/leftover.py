"""The unsafe records no level of the greedy could place: put them into a class of k anyway.

They are fewer than k even with every key suppressed (the greedy's last level takes everything
that reaches k). Each joins, with the cheapest mask, whole released classes that agree with it
outside the mask, so no class is ever left below k; records that were safe move only when a
stratum holds fewer than k unsafe records.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from kluis.errors import Refused
from kluis.risk.sql import cost_sql, klist, values_sql


class CannotReachK(Refused):
    """A stratum has fewer than k records: no suppression makes it k-anonymous."""


def place_leftovers(
    con: duckdb.DuckDBPyConnection,
    pat: str,
    rem: str,
    asg: str,
    n_keys: int,
    k: int,
    imp: Sequence[float],
) -> None:
    """Place the unsafe patterns no class of unsafe records took at any level (they are fewer
    than k even with every key suppressed). For each, in key order, the cheapest mask M under
    which it and whole released classes that agree with it outside M reach k together; those
    classes move into the new class entirely, so no class is left below k. Classes of unsafe
    records are tried first; classes that were safe only when nothing else works (fewer than k
    unsafe records in the stratum), reported as safe_records_suppressed."""
    ks = klist(n_keys)
    lv = values_sql(range(1, 1 << n_keys))
    cost = cost_sql(n_keys, imp, "(lv.m & ~c.cm)")
    agrees = " AND ".join(
        f"((lv.m & {1 << i}) <> 0 OR c.k{i} IS NOT DISTINCT FROM r.k{i})" for i in range(n_keys)
    )
    cur = (
        f"SELECT p.pid, p.n, p.s, {klist(n_keys, 'p.')}, coalesce(a.mask, p.mask) AS cm, "
        f"a.pid IS NOT NULL AS placed FROM {pat} p LEFT JOIN {asg} a ON a.pid = p.pid"
    )
    while True:
        left = con.execute(f"SELECT pid, s FROM {rem} ORDER BY s, {ks}, pid LIMIT 1").fetchall()
        if not left:
            return
        pid, s = int(left[0][0]), int(left[0][1])
        best, safe_ok = None, ""
        for allow_safe in (False, True):
            safe_ok = "" if allow_safe else f"AND NOT (c.n >= {k} AND NOT c.placed)"
            best = con.execute(
                f"""WITH c AS ({cur} WHERE p.s = {s}),
                     r AS (SELECT * FROM {pat} WHERE pid = {pid})
                SELECT lv.m, sum(c.n * ({cost})) AS cost
                FROM c CROSS JOIN r JOIN {lv} ON (c.cm & ~lv.m) = 0 AND (r.mask & ~lv.m) = 0
                WHERE {agrees} {safe_ok}
                GROUP BY lv.m HAVING sum(c.n) >= {k}
                ORDER BY cost, lv.m LIMIT 1"""
            ).fetchall()
            if best:
                break
        if not best:  # fewer than k records in the stratum: refused before, cannot happen
            raise CannotReachK(f"stratum {s}: cannot gather k = {k} records")
        m = int(best[0][0])
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {asg}_j AS
            WITH c AS ({cur} WHERE p.s = {s}),
                 r AS (SELECT * FROM {pat} WHERE pid = {pid}),
                 lv AS (SELECT {m}::BIGINT AS m)
            SELECT c.pid FROM c CROSS JOIN r CROSS JOIN lv
            WHERE (c.cm & ~lv.m) = 0 AND {agrees} {safe_ok}"""
        )
        # rebuilt, not updated in place (see _polish on DuckDB's dictionary cache)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {asg} AS
            SELECT pid, mask FROM {asg} WHERE pid NOT IN (SELECT pid FROM {asg}_j)
            UNION ALL SELECT pid, {m}::BIGINT FROM {asg}_j"""
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {rem} AS SELECT * FROM {rem} "
            f"WHERE pid NOT IN (SELECT pid FROM {asg}_j)"
        )
        con.execute(f"DROP TABLE IF EXISTS {asg}_j")
