"""A lower bound of local suppression: no solution that leaves safe records alone costs less.

An unsafe pattern p released with mask M shares its class only with unsafe patterns that agree
with it outside M (and with records already released with exactly that pattern). The cheapest
mask under which those could reach k bounds p's own cost from below, whatever the others do;
summed over the unsafe patterns (times their records) it bounds every solution. Computed level by
level with group-bys, like the greedy.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from kluis.risk.sql import cost_sql, klist, masked, same_keys, values_sql


def lower_bound(
    con: duckdb.DuckDBPyConnection,
    pat: str,
    n_keys: int,
    k: int,
    imp: Sequence[float],
    levels: list[tuple[float, list[int]]],
    prefix: str,
) -> float:
    """Sum over unsafe patterns of n x the cheapest cost under which the unsafe patterns that
    agree with it outside the mask (plus records released with exactly that pattern) reach k."""
    ks = klist(n_keys)
    unb, uns, lb = f"{prefix}_unb", f"{prefix}_uns", f"{prefix}_lb"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {uns} AS SELECT pid, s, {ks}, mask, n FROM {pat} "
        f"WHERE n < {k}"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {unb} AS SELECT * FROM {uns}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {lb} (pid BIGINT, n BIGINT, cost DOUBLE)")
    safe = f"(SELECT mask AS m, s, {ks}, n FROM {pat} WHERE n >= {k})"
    for _, masks in levels:
        if not bool(con.execute(f"SELECT count(*) FROM {unb}").fetchall()[0][0]):
            break
        lv = values_sql(masks)
        con.execute(
            f"""INSERT INTO {lb}
            WITH pot AS (
                   SELECT lv.m, a.s, {masked(n_keys, "a.", "lv.m")}, sum(a.n) AS n
                   FROM {uns} a JOIN {lv} ON (a.mask & ~lv.m) = 0 GROUP BY ALL
                   UNION ALL SELECT * FROM {safe} sf WHERE sf.m IN (SELECT m FROM {lv})),
                potg AS (SELECT m, s, {ks}, sum(n) AS n FROM pot GROUP BY ALL),
                cand AS (SELECT u.pid, u.n AS un, u.mask, lv.m, u.s,
                                {masked(n_keys, "u.", "lv.m")}
                         FROM {unb} u JOIN {lv} ON (u.mask & ~lv.m) = 0)
            SELECT c.pid, any_value(c.un), min({cost_sql(n_keys, imp, "(c.m & ~c.mask)")})
            FROM cand c JOIN potg p ON p.m = c.m AND p.s = c.s AND {same_keys(n_keys, "p", "c")}
            WHERE p.n >= {k} GROUP BY c.pid"""
        )
        # a pattern that had missing keys already can become cheaper at a later level (its own
        # missing keys cost nothing): keep it until every level has been seen; the rest is done
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {unb} AS SELECT * FROM {unb} "
            f"WHERE NOT (mask = 0 AND pid IN (SELECT pid FROM {lb}))"
        )
    total = con.execute(
        f"""SELECT CAST(coalesce(sum(CAST(n * cost AS DECIMAL(38, 9))), 0) AS DOUBLE)
            FROM (SELECT pid, any_value(n) AS n, min(cost) AS cost FROM {lb} GROUP BY pid)"""
    ).fetchall()[0][0]
    for t in (unb, uns, lb):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return float(total)
