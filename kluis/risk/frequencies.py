"""Sample frequencies fk and population estimates Fk of key patterns, with sdcMicro's rule for
missing values, computed in the engine.

Input is a relation with columns `s` (stratum: the year of a panel, or 0), `k0..k{K-1}` (the key
variables), `n` (how many records the row stands for, 1 for a record) and `w` (their total weight
in millionths, an integer, so that sums are exact and do not depend on the order in which the
engine's threads add them).

The missing-value rule is sdcMicro's `freqCalc` (alpha = 1): a missing key value matches every
value, so two records are *compatible* when, on every key, their values are equal or at least one
of them is missing; fk of a record is the number of records compatible with it, Fk their weight.
sdcMicro's special cases are kept exactly:
- a record whose keys are all missing is compatible with every record: its fk is the number of
  records (of its stratum) and its Fk their weight;
- but with more than one key, such all-missing records are *not* counted for records without any
  missing key (sdcMicro adds them only to records that have a missing value themselves);
- with one key, a missing value is counted for every record.

Compatibility is evaluated per pair of missing-value masks (a, b): a record with mask a meets the
records with mask b in a hash join on the keys outside a|b. Only masks that occur are paired, so a
table without missing values is one plain group-by.
"""

from __future__ import annotations

import duckdb

from kluis.errors import BadInput
from kluis.risk.sql import klist, mask_expr, masked, same_keys


def patterns(
    con: duckdb.DuckDBPyConnection, src: str, n_keys: int, out: str, *, ordered: bool = False
) -> None:
    """Distinct key patterns per stratum with their record count `n`, weight `w` and `mask`,
    numbered `pid`: in key order when `ordered` (an optimiser that sees the numbers then gives
    the same answer every run), else in whatever order the engine produced them."""
    ks = klist(n_keys)
    order = f"ORDER BY s, {ks}" if ordered else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT row_number() OVER ({order}) AS pid, s, {ks}, {mask_expr(n_keys)} AS mask, n, w
        FROM (SELECT s, {ks}, sum(n)::BIGINT AS n, sum(w)::HUGEINT AS w
              FROM {src} GROUP BY s, {ks})"""
    )


def _has_missing(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(f"SELECT coalesce(bool_or(mask <> 0), false) FROM {table}").fetchall()
    return bool(row[0][0])


def compatible_totals(
    con: duckdb.DuckDBPyConnection, left: str, right: str, n_keys: int, out: str
) -> None:
    """For every pattern of `left`: the records (`n`) and weight (`w`) of the `right` patterns
    of its stratum that are compatible with it, under sdcMicro's rule (see the module doc). A
    left pattern with all keys missing is not treated here: the caller gives it the stratum's
    totals."""
    full = (1 << n_keys) - 1
    exclude = f"AND NOT (L.a = 0 AND L.b = {full})" if n_keys > 1 else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        WITH rm AS (SELECT DISTINCT s, mask FROM {right}),
             lm AS (SELECT DISTINCT s, mask FROM {left}),
             L AS (SELECT l.pid, l.s, l.mask AS a, m.mask AS b, {masked(n_keys, "l.", "m.mask")}
                   FROM {left} l JOIN rm m ON l.s = m.s),
             R AS (SELECT r.s, m.mask AS a, r.mask AS b, {masked(n_keys, "r.", "m.mask")},
                          sum(r.n) AS n, sum(r.w) AS w
                   FROM {right} r JOIN lm m ON r.s = m.s
                   GROUP BY ALL)
        SELECT L.pid, sum(R.n)::BIGINT AS n, sum(R.w) AS w
        FROM L JOIN R ON L.s = R.s AND L.a = R.a AND L.b = R.b AND {same_keys(n_keys, "L", "R")}
             {exclude}
        GROUP BY L.pid"""
    )


def frequencies(
    con: duckdb.DuckDBPyConnection,
    src: str,
    n_keys: int,
    out: str,
    *,
    population: str | None = None,
    aggregated: bool = False,
) -> None:
    """Table `out`: one row per key pattern (pid, s, k0.., mask, n, fk, fpop). With
    `aggregated`, `src` is already a pattern table made by `patterns` (and is kept).

    Fk is the weight of the compatible records (sum of sampling weights; the record count when
    the data carry no weight), or, with `population` (a relation of the same form holding the
    full population the sample was drawn from), the number of compatible population records."""
    full = (1 << n_keys) - 1
    pat = src if aggregated else f"{out}_p"
    if not aggregated:
        patterns(con, src, n_keys, pat)
    if _has_missing(con, pat):
        compatible_totals(con, pat, pat, n_keys, f"{out}_c")
        fk_sql, w_sql, join = (
            "coalesce(c.n, 0)",
            "coalesce(c.w, 0)",
            f"LEFT JOIN {out}_c c ON c.pid = p.pid",
        )
    else:
        fk_sql, w_sql, join = "p.n", "p.w", ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out}_f AS
        WITH tot AS (SELECT s, sum(n)::BIGINT AS n, sum(w) AS w FROM {pat} GROUP BY s)
        SELECT p.pid, p.s, {klist(n_keys, "p.")}, p.mask, p.n,
               CASE WHEN p.mask = {full} THEN tot.n ELSE {fk_sql} END AS fk,
               CASE WHEN p.mask = {full} THEN tot.w ELSE {w_sql} END AS Fw
        FROM {pat} p JOIN tot ON tot.s = p.s {join}"""
    )
    if population is None:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {out} AS
            SELECT pid, s, {klist(n_keys)}, mask, n, fk, CAST(Fw AS DOUBLE) / 1e6 AS fpop
            FROM {out}_f"""
        )
    else:
        population_counts(con, f"{out}_f", population, n_keys, out)
    for t in ("_c", "_f") if aggregated else ("_p", "_c", "_f"):
        con.execute(f"DROP TABLE IF EXISTS {out}{t}")


def population_counts(
    con: duckdb.DuckDBPyConnection, sample: str, population: str, n_keys: int, out: str
) -> None:
    """`out`: the sample patterns with Fk = the number of population records compatible with
    them (all-missing sample patterns: the stratum's population size).

    With missing values in the sample, fk counts (by the missing-value rule) sample records
    whose hidden value differs; the population, complete, does not see them. Fk is then taken
    as at least fk (the conservative choice, risk 1/fk) rather than a sampling fraction above 1.
    A population holding fewer records of a pattern than the sample is not the population the
    sample was drawn from: BadInput."""
    full = (1 << n_keys) - 1
    patterns(con, population, n_keys, f"{out}_pp")
    if _has_missing(con, sample) or _has_missing(con, f"{out}_pp"):
        compatible_totals(con, sample, f"{out}_pp", n_keys, f"{out}_cp")
        counted = f"LEFT JOIN {out}_cp c ON c.pid = f.pid"
    else:
        counted = (
            f"LEFT JOIN (SELECT f2.pid, pp.n FROM {sample} f2 JOIN {out}_pp pp "
            f"ON f2.s = pp.s AND {same_keys(n_keys, 'f2', 'pp')}) c ON c.pid = f.pid"
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        WITH tot AS (SELECT s, sum(n)::BIGINT AS n FROM {out}_pp GROUP BY s)
        SELECT f.pid, f.s, {klist(n_keys, "f.")}, f.mask, f.n, f.fk,
               CAST(CASE WHEN f.mask = {full} THEN coalesce(tot.n, 0)
                         ELSE coalesce(c.n, 0) END AS DOUBLE) AS fraw
        FROM {sample} f LEFT JOIN tot ON tot.s = f.s {counted}"""
    )
    bad = con.execute(
        f"SELECT s, n, fraw FROM {out} WHERE fraw < n ORDER BY s, n DESC LIMIT 1"
    ).fetchall()
    if bad:
        s, n, fraw = bad[0]
        raise BadInput(
            f"population: a key combination occurs {int(n)} times in the sample but "
            f"{int(fraw)} times in the population (stratum {s}): it is not the population the "
            "sample was drawn from"
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT * EXCLUDE (fraw), greatest(fraw, fk) AS fpop FROM {out}"""
    )
    for t in ("_pp", "_cp"):
        con.execute(f"DROP TABLE IF EXISTS {out}{t}")
