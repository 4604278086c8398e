"""Local suppression to k-anonymity with the fewest suppressed values, solved over key patterns.

Target. After suppression every released key pattern (a suppressed value is a value of its own,
'missing') is shared by at least k records: a record's class is the records identical to it on
every key, as released. This is the classical k-anonymity of a suppressed file; it implies
sdcMicro's k-anonymity (where a missing value matches every value, a record's fk is at least its
class size), but unlike that rule it cannot be met by a few heavily suppressed 'wildcard'
records that match everyone while the unique records stay as they were.

Only records whose class is smaller than k ('unsafe') are suppressed. Choosing a suppression
mask M (the set of keys to suppress) for an unsafe pattern puts its records into the class of
its values outside M; suppressing key i costs `importance[i]` per record (1 each by default:
the number of suppressed values).

Method (greedy with a bound, every step a group-by in the engine):
- masks are visited in order of increasing cost; at each cost level, every remaining unsafe
  pattern looks at the classes it would join under each mask of the level (with the other
  remaining patterns that could join them, and with existing classes of that exact released
  pattern). Each pattern picks the largest class that reaches k; classes that still reach k
  with the patterns that picked them are formed, the rest try again, until the level is
  exhausted. A level always makes progress (if nothing forms, its single largest feasible class
  is formed), and the last level (every key suppressed) takes what is left;
- if the records left over cannot form a class of k on their own (fewer than k in a stratum),
  records from formed classes with more than k members are moved into it, and only if that is
  not enough, surplus records of already safe classes: reported as `safe_records_suppressed`;
- lower bound: an unsafe pattern p can only ever share a class under mask M with unsafe patterns
  that agree with it outside M (and records already released with that exact pattern); the
  cheapest mask under which those could reach k bounds p's cost from below. The sum over
  patterns bounds every solution that leaves safe records alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from kluis.errors import Refused
from kluis.risk.bound import lower_bound
from kluis.risk.frequencies import patterns
from kluis.risk.leftover import CannotReachK, place_leftovers
from kluis.risk.sql import cost_sql, klist, masked, same_keys, values_sql

#: suppression enumerates key subsets: 2^K masks
MAX_SUPPRESSION_KEYS = 12


@dataclass
class SuppressionResult:
    """What suppression did; `assign` is a table (pid, mask, lo, hi): the records of pattern pid
    with rank lo..hi (1-based, in file order within the pattern) are released with `mask`."""

    k: int
    keys: tuple[str, ...]
    assign: str
    pattern_table: str
    values: int = 0
    per_key: dict[str, int] = field(default_factory=dict)
    records: int = 0
    cost: float = 0.0
    lower_bound: float = 0.0
    safe_records_suppressed: int = 0
    unsafe_records: int = 0
    mip: object | None = None  # optimal.MipResult when the MIP ran
    strata: int = 0  # strata with unsafe records
    mip_strata: int = 0  # of which the MIP solved

    def as_json(self) -> dict:
        gap = self.cost - self.lower_bound
        return {
            "k": self.k,
            "target": "every released key pattern (suppressed = its own value) shared by >= k "
            "records",
            "total": self.values,
            "per_key": self.per_key,
            "records_with_suppressions": self.records,
            "unsafe_records_before": self.unsafe_records,
            "cost": round(self.cost, 9),
            "lower_bound": round(self.lower_bound, 9),
            "gap": round(gap, 9),
            "safe_records_suppressed": self.safe_records_suppressed,
            "method": self.method(),
        }

    def method(self) -> str:
        text = "greedy over key patterns by cost level, with a per-pattern lower bound"
        mip = self.mip
        if mip is None:
            return text
        scope = "every feasible mask" if mip.exact else "masks no dearer than the greedy's"
        state = "optimal" if mip.optimal and mip.exact else "best found"
        strata = f" in {self.mip_strata} of {self.strata} strata" if self.strata > 1 else ""
        return f"{text}; then a MIP{strata} over {mip.pairs} pattern-mask pairs ({scope}): {state}"


def _levels(n_keys: int, importance: Sequence[float]) -> list[tuple[float, list[int]]]:
    """Non-empty masks grouped by cost, cheapest first (ties: fewer keys, then mask value)."""
    masks = []
    for size in range(1, n_keys + 1):
        for combo in itertools.combinations(range(n_keys), size):
            m = sum(1 << i for i in combo)
            masks.append((round(sum(importance[i] for i in combo), 9), size, m))
    masks.sort()
    out: list[tuple[float, list[int]]] = []
    for cost, group in itertools.groupby(masks, key=lambda t: t[0]):
        out.append((cost, [m for _, _, m in group]))
    return out


def suppress(
    con: duckdb.DuckDBPyConnection,
    records: str,
    keys: Sequence[str],
    k: int,
    importance: Sequence[float] | None = None,
    prefix: str = "sp",
    *,
    optimise: str = "auto",
) -> SuppressionResult:
    """Choose the suppressions for `records` (s, k0.., n); see the module doc. `optimise`:
    `auto` then solves a problem small enough as a MIP (optimal.py) from the greedy solution,
    `mip` does so for every stratum whose model fits, `greedy` never."""
    n_keys = len(keys)
    if n_keys > MAX_SUPPRESSION_KEYS:
        raise Refused(
            f"local suppression over {n_keys} keys: at most {MAX_SUPPRESSION_KEYS} are supported"
        )
    imp = tuple(float(x) for x in (importance or [1.0] * n_keys))
    if len(imp) != n_keys or any(x <= 0 for x in imp):
        raise ValueError("importance needs one positive weight per key")
    ks = klist(n_keys)
    pat, rem, cls, asg = (f"{prefix}_{t}" for t in ("pat", "rem", "cls", "asg"))
    patterns(con, records, n_keys, pat, ordered=True)
    small = con.execute(
        f"SELECT s, sum(n) FROM {pat} GROUP BY s HAVING sum(n) < {k} ORDER BY s LIMIT 1"
    ).fetchall()
    if small:
        raise CannotReachK(
            f"stratum {small[0][0]} has {int(small[0][1])} records: fewer than k = {k}, "
            "so no suppression can make it k-anonymous"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rem} AS SELECT pid, s, {ks}, mask, n FROM {pat} "
        f"WHERE n < {k}"
    )
    # released classes: the safe patterns as they are, then every class formed
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {cls} AS SELECT mask AS m, s, {ks}, n FROM {pat} "
        f"WHERE n >= {k}"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {asg} (pid BIGINT, mask BIGINT)")
    result = SuppressionResult(k=k, keys=tuple(keys), assign=f"{prefix}_ranges", pattern_table=pat)
    result.unsafe_records = int(
        con.execute(f"SELECT coalesce(sum(n), 0) FROM {rem}").fetchall()[0][0]
    )
    levels = _levels(n_keys, imp)
    result.lower_bound = lower_bound(con, pat, n_keys, k, imp, levels, prefix)
    for _, masks in levels:
        if not _remaining(con, rem):
            break
        _level(con, rem, cls, asg, n_keys, k, masks)
    if _remaining(con, rem):
        place_leftovers(con, pat, rem, asg, n_keys, k, imp)
    _ranges(con, pat, asg, result.assign)
    _tally(con, result, n_keys, imp)
    if optimise != "greedy" and result.unsafe_records:
        from kluis.risk import optimal

        budget = optimal.budget_for(optimise)
        if optimal.polish(con, result, pat, asg, n_keys, k, imp, levels, prefix, budget):
            _ranges(con, pat, asg, result.assign)
            _tally(con, result, n_keys, imp)
    for t in (rem, cls, asg):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return result


def _remaining(con: duckdb.DuckDBPyConnection, rem: str) -> bool:
    return bool(con.execute(f"SELECT count(*) FROM {rem}").fetchall()[0][0])


def _level(
    con: duckdb.DuckDBPyConnection,
    rem: str,
    cls: str,
    asg: str,
    n_keys: int,
    k: int,
    masks: Sequence[int],
) -> None:
    """Form every class of this cost level that reaches k (see the module doc)."""
    ks = klist(n_keys)
    lv = values_sql(masks)
    on = lambda a, b: f"{a}.m = {b}.m AND {a}.s = {b}.s AND {same_keys(n_keys, a, b)}"  # noqa: E731
    while True:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {rem}_cand AS
            SELECT r.pid, lv.m, r.s, r.n, {masked(n_keys, "r.", "lv.m")}
            FROM {rem} r JOIN {lv} ON (r.mask & ~lv.m) = 0"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {rem}_acc AS
            WITH ext AS (SELECT m, s, {ks}, sum(n) AS n FROM {cls} GROUP BY ALL),
            grp AS (SELECT m, s, {ks}, sum(n) AS tot FROM {rem}_cand GROUP BY ALL),
            gt AS (SELECT g.m, g.s, {klist(n_keys, "g.")}, g.tot + coalesce(e.n, 0) AS tot
                   FROM grp g LEFT JOIN ext e ON {on("e", "g")}),
            valid AS (SELECT c.pid, c.m, gt.tot FROM {rem}_cand c JOIN gt ON {on("gt", "c")}
                      WHERE gt.tot >= {k}),
            best AS (SELECT pid, m FROM (
                        SELECT pid, m, row_number() OVER (PARTITION BY pid ORDER BY tot DESC, m)
                               AS rk FROM valid) WHERE rk = 1),
            chosen AS (SELECT c.* FROM {rem}_cand c JOIN best b ON b.pid = c.pid AND b.m = c.m),
            ct AS (SELECT m, s, {ks}, sum(n) AS tot FROM chosen GROUP BY ALL),
            ok AS (SELECT ct.m, ct.s, {klist(n_keys, "ct.")} FROM ct
                   LEFT JOIN ext e ON {on("e", "ct")} WHERE ct.tot + coalesce(e.n, 0) >= {k})
            SELECT chosen.* FROM chosen JOIN ok ON {on("ok", "chosen")}"""
        )
        accepted = con.execute(f"SELECT count(*) FROM {rem}_acc").fetchall()[0][0]
        if not accepted and not _force_largest(con, rem, cls, n_keys, k):
            break
        _accept(con, rem, cls, asg, n_keys)
    for t in ("_cand", "_acc"):
        con.execute(f"DROP TABLE IF EXISTS {rem}{t}")


def _force_largest(con: duckdb.DuckDBPyConnection, rem: str, cls: str, n_keys: int, k: int) -> bool:
    """No class formed by the patterns' own choices: form the level's largest feasible class
    with all of its candidates. False when no class of this level reaches k."""
    ks = klist(n_keys)
    on = f"e.m = g.m AND e.s = g.s AND {same_keys(n_keys, 'e', 'g')}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {rem}_acc AS
        WITH ext AS (SELECT m, s, {ks}, sum(n) AS n FROM {cls} GROUP BY ALL),
        grp AS (SELECT m, s, {ks}, sum(n) AS tot FROM {rem}_cand GROUP BY ALL),
        top AS (SELECT g.* FROM grp g LEFT JOIN ext e ON {on}
                WHERE g.tot + coalesce(e.n, 0) >= {k}
                ORDER BY g.tot + coalesce(e.n, 0) DESC, g.m, g.s, {klist(n_keys, "g.")} LIMIT 1)
        SELECT c.* FROM {rem}_cand c JOIN top g
             ON c.m = g.m AND c.s = g.s AND {same_keys(n_keys, "c", "g")}"""
    )
    return bool(con.execute(f"SELECT count(*) FROM {rem}_acc").fetchall()[0][0])


def _accept(con: duckdb.DuckDBPyConnection, rem: str, cls: str, asg: str, n_keys: int) -> None:
    ks = klist(n_keys)
    con.execute(f"INSERT INTO {asg} SELECT pid, m FROM {rem}_acc")
    con.execute(f"INSERT INTO {cls} SELECT m, s, {ks}, sum(n) FROM {rem}_acc GROUP BY m, s, {ks}")
    # rebuilt, not deleted from: see _polish on DuckDB's dictionary cache
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rem} AS SELECT * FROM {rem} "
        f"WHERE pid NOT IN (SELECT pid FROM {rem}_acc)"
    )


def _ranges(con: duckdb.DuckDBPyConnection, pat: str, asg: str, out: str) -> None:
    """`out` (pid, mask, lo, hi): the released mask of each pattern's records by rank (every
    record of a pattern is released alike; the ranges leave room to split a pattern)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT p.pid, coalesce(a.mask, p.mask) AS mask, 1::BIGINT AS lo, p.n AS hi
        FROM {pat} p LEFT JOIN {asg} a ON a.pid = p.pid"""
    )


def _tally(
    con: duckdb.DuckDBPyConnection,
    result: SuppressionResult,
    n_keys: int,
    imp: Sequence[float],
) -> None:
    new = "(r.mask & ~p.mask)"
    per_key = ", ".join(
        f"coalesce(sum(hi - lo + 1) FILTER (WHERE ({new} & {1 << i}) <> 0), 0)::BIGINT"
        for i in range(n_keys)
    )
    row = con.execute(
        f"""SELECT coalesce(sum(hi - lo + 1) FILTER (WHERE {new} <> 0), 0)::BIGINT,
                   coalesce(sum(hi - lo + 1) FILTER (WHERE {new} <> 0 AND p.n >= {result.k}),
                            0)::BIGINT,
                   CAST(coalesce(sum(CAST((hi - lo + 1) * ({cost_sql(n_keys, imp, new)})
                                          AS DECIMAL(38, 9))), 0) AS DOUBLE),
                   {per_key}
            FROM {result.assign} r JOIN {result.pattern_table} p ON p.pid = r.pid"""
    ).fetchall()[0]
    result.records, result.safe_records_suppressed, result.cost = (
        int(row[0]),
        int(row[1]),
        float(row[2]),
    )
    result.per_key = {key: int(v) for key, v in zip(result.keys, row[3:], strict=True)}
    result.values = sum(result.per_key.values())


def released_masks(
    con: duckdb.DuckDBPyConnection, records: str, result: SuppressionResult, out: str
) -> None:
    """`out` (rid, mask): the keys each record is released without. `records` is the
    materialized records table (its rowid is the record's position)."""
    n_keys = len(result.keys)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        WITH rp AS (SELECT r.rowid AS rid, p.pid,
                           row_number() OVER (PARTITION BY p.pid ORDER BY r.rowid) AS rank
                    FROM {records} r JOIN {result.pattern_table} p
                         ON p.s = r.s AND {same_keys(n_keys, "r", "p")})
        SELECT rp.rid, a.mask FROM rp JOIN {result.assign} a
             ON a.pid = rp.pid AND rp.rank BETWEEN a.lo AND a.hi"""
    )
