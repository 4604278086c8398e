"""l-diversity of a sensitive variable within the groups of records that share their key values,
as sdcMicro's `ldiversity` (its C++ `measure_risk` routine).

Groups are records with exactly the same key values (a missing key value is a value of its own
here, as in sdcMicro's sorted scan). Per group, over the sensitive variable:
- distinct l: the number of distinct non-missing values, plus one when the group also has missing
  values and at least one non-missing value;
- entropy l: exp(-sum p ln p) over those same categories (missing counted as one category, only
  when a non-missing value is present), p = frequency / group size;
- recursive (c, l): with the non-missing frequencies sorted r1 >= r2 >= ... >= rm, the largest l
  with r1 < c * (r_l + ... + r_m) (1 when no l >= 2 satisfies it, or m = 1). sdcMicro leaves the
  value undefined for a group whose sensitive values are all missing; kluis reports 0 there.
A group with distinct l = 1 tells everyone who can place a person in it the person's sensitive
value (attribute disclosure), however large the group.
"""

from __future__ import annotations

import duckdb

from kluis.risk.sql import klist


def group_ldiversity(
    con: duckdb.DuckDBPyConnection, records: str, n_keys: int, out: str, c: float = 2.0
) -> None:
    """`out`: one row per group (s, k0.., size, distinct_l, entropy_l, recursive_l)."""
    ks = klist(n_keys)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        WITH cat AS (SELECT s, {ks}, sens, count(*) AS f FROM {records} GROUP BY ALL),
        grp AS (SELECT s, {ks}, sum(f) AS size,
                       count(*) FILTER (WHERE sens IS NOT NULL) AS m,
                       coalesce(sum(f) FILTER (WHERE sens IS NULL), 0) AS miss,
                       max(f) FILTER (WHERE sens IS NOT NULL) AS r1
                FROM cat GROUP BY ALL),
        ranked AS (SELECT s, {ks}, f,
                          sum(f) OVER (PARTITION BY s, {ks} ORDER BY f DESC, sens
                                       ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS tail,
                          row_number() OVER (PARTITION BY s, {ks} ORDER BY f DESC, sens) AS pos
                   FROM cat WHERE sens IS NOT NULL),
        rec AS (SELECT r.s, {klist(n_keys, "r.")},
                       count(*) FILTER (WHERE r.pos >= 2 AND {c} * r.tail > g.r1) AS steps
                FROM ranked r JOIN grp g ON g.s = r.s AND {_same(n_keys)}
                GROUP BY ALL),
        ent AS (SELECT c2.s, {klist(n_keys, "c2.")},
                       sum((c2.f / g.size) * ln(c2.f / g.size)) AS plogp
                FROM cat c2 JOIN grp g ON g.s = c2.s AND {_same(n_keys, "c2")}
                WHERE c2.sens IS NOT NULL OR g.m > 0
                GROUP BY ALL)
        SELECT g.s, {klist(n_keys, "g.")}, g.size,
               g.m + CASE WHEN g.miss > 0 AND g.m > 0 THEN 1 ELSE 0 END AS distinct_l,
               exp(-coalesce(e.plogp, 0)) AS entropy_l,
               CASE WHEN g.m = 0 THEN 0 ELSE 1 + coalesce(r.steps, 0) END AS recursive_l
        FROM grp g
        LEFT JOIN ent e ON e.s = g.s AND {_same(n_keys, "e", "g")}
        LEFT JOIN rec r ON r.s = g.s AND {_same(n_keys, "r", "g")}"""
    )


def _same(n_keys: int, left: str = "r", right: str = "g") -> str:
    return " AND ".join(f"{left}.k{i} IS NOT DISTINCT FROM {right}.k{i}" for i in range(n_keys))


def summary(con: duckdb.DuckDBPyConnection, groups: str) -> dict[int, dict]:
    """Per stratum: how many records sit in groups of each distinct l, the smallest l's."""
    rows = con.execute(
        f"""SELECT s, sum(size)::BIGINT, min(distinct_l), min(entropy_l), min(recursive_l),
                   coalesce(sum(size) FILTER (WHERE distinct_l <= 1), 0)::BIGINT,
                   coalesce(sum(size) FILTER (WHERE distinct_l <= 2), 0)::BIGINT
            FROM {groups} GROUP BY s ORDER BY s"""
    ).fetchall()
    return {
        int(s): {
            "records": int(n),
            "min_distinct_l": int(dl),
            "min_entropy_l": round(float(el), 6),
            "min_recursive_l": int(rl),
            "records_with_distinct_l_1": int(l1),
            "records_with_distinct_l_at_most_2": int(l2),
        }
        for s, n, dl, el, rl, l1, l2 in rows
    }
