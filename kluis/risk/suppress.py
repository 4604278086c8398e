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
from kluis.risk.frequencies import patterns
from kluis.risk.sql import bits, klist, masked, same_keys

#: suppression enumerates key subsets: 2^K masks
MAX_SUPPRESSION_KEYS = 12


class CannotReachK(Refused):
    """A stratum has fewer than k records: no suppression makes it k-anonymous."""


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


def _cost_sql(n_keys: int, importance: Sequence[float], new_bits: str) -> str:
    """SQL for the cost of the bits set in `new_bits`."""
    return " + ".join(
        f"(CASE WHEN ({new_bits} & {1 << i}) <> 0 THEN {float(importance[i])} ELSE 0 END)"
        for i in range(n_keys)
    )


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
    result.lower_bound = _lower_bound(con, pat, n_keys, k, imp, levels, prefix)
    for _, masks in levels:
        if not _remaining(con, rem):
            break
        _level(con, rem, cls, asg, n_keys, k, masks)
    if _remaining(con, rem):
        _last_resort(con, pat, rem, asg, n_keys, k, imp)
    _ranges(con, pat, asg, result.assign)
    _tally(con, result, n_keys, imp)
    if optimise != "greedy" and result.unsafe_records:
        budget = optimal_budget(optimise)
        if _polish(con, result, pat, asg, n_keys, k, imp, levels, prefix, budget):
            _ranges(con, pat, asg, result.assign)
            _tally(con, result, n_keys, imp)
    for t in (rem, cls, asg):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return result


def _polish(
    con: duckdb.DuckDBPyConnection,
    result: SuppressionResult,
    pat: str,
    asg: str,
    n_keys: int,
    k: int,
    imp: Sequence[float],
    levels: list[tuple[float, list[int]]],
    prefix: str,
    budget: int,
) -> set[int]:
    """Improve the greedy masks with a MIP per stratum when its model is small enough
    (optimal.py), as long as the models together stay within `budget` pattern-mask pairs;
    returns the strata whose masks the MIP replaced."""
    from kluis.risk import optimal

    cand, chosen = f"{prefix}_cand", f"{prefix}_mip"
    strata = [
        int(r[0])
        for r in con.execute(f"SELECT DISTINCT s FROM {pat} WHERE n < {k} ORDER BY s").fetchall()
    ]
    runs: list[optimal.MipResult] = []
    replaced: set[int] = set()
    used = 0
    for s in strata:
        greedy = _stratum_cost(con, pat, asg, n_keys, imp, s)
        mip = None
        for restrict in (False, True):
            est = optimal.pair_estimate(
                con, pat, asg, n_keys, k, imp, levels, restrict=restrict, stratum=s
            )
            room = min(optimal.MAX_PAIRS, budget - used)
            if est > 4 * room:
                continue
            pairs = optimal.candidates(
                con, pat, asg, n_keys, k, imp, cand, restrict=restrict, stratum=s
            )
            if pairs <= room:
                mip = optimal.solve(con, cand, k, exact=not restrict, out=chosen)
                used += pairs
                break
        if mip is None:
            continue
        runs.append(mip)
        if mip.cost < greedy - 1e-9:
            # rebuilt rather than DELETE + INSERT: DuckDB 2.0 trips an internal assertion
            # ("dict-surviving cache") when a later query scans a table changed that way
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE {asg} AS
                SELECT a.pid, a.mask FROM {asg} a JOIN {pat} p ON p.pid = a.pid
                WHERE NOT (p.s = {s} AND p.n < {k})
                UNION ALL SELECT pid, mask FROM {chosen}"""
            )
            replaced.add(s)
        con.execute(f"DROP TABLE IF EXISTS {chosen}")
    con.execute(f"DROP TABLE IF EXISTS {cand}")
    result.strata, result.mip_strata = len(strata), len(runs)
    if runs:
        result.mip = optimal.MipResult(
            cost=sum(r.cost for r in runs),
            dual_bound=sum(r.dual_bound for r in runs),
            exact=all(r.exact for r in runs) and len(runs) == len(strata),
            optimal=all(r.optimal for r in runs),
            nodes=sum(r.nodes for r in runs),
            pairs=sum(r.pairs for r in runs),
        )
        if result.mip.exact:
            result.lower_bound = max(result.lower_bound, result.mip.dual_bound)
    return replaced


def optimal_budget(mode: str) -> int:
    """Pattern-mask pairs the MIPs of one suppression may take: `auto` keeps to models that
    solve in seconds, `mip` goes up to the largest model per stratum."""
    from kluis.risk import optimal

    if mode not in ("auto", "mip"):
        raise ValueError(f"unknown optimisation mode {mode!r}: auto, greedy or mip")
    return optimal.AUTO_PAIRS if mode == "auto" else 10**12


def _stratum_cost(
    con: duckdb.DuckDBPyConnection, pat: str, asg: str, n_keys: int, imp: Sequence[float], s: int
) -> float:
    return float(
        con.execute(
            f"""SELECT coalesce(sum(p.n * ({_cost_sql(n_keys, imp, "(a.mask & ~p.mask)")})), 0)
                FROM {pat} p JOIN {asg} a ON a.pid = p.pid WHERE p.s = {s}"""
        ).fetchall()[0][0]
    )


def _remaining(con: duckdb.DuckDBPyConnection, rem: str) -> bool:
    return bool(con.execute(f"SELECT count(*) FROM {rem}").fetchall()[0][0])


def _values(masks: Sequence[int]) -> str:
    return "(VALUES " + ", ".join(f"({m})" for m in masks) + ") lv(m)"


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
    lv = _values(masks)
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


def _lower_bound(
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
        if not _remaining(con, unb):
            break
        lv = _values(masks)
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
            SELECT c.pid, any_value(c.un), min({_cost_sql(n_keys, imp, "(c.m & ~c.mask)")})
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


def _last_resort(
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
    lv = _values(range(1, 1 << n_keys))
    cost = _cost_sql(n_keys, imp, "(lv.m & ~c.cm)")
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
                   CAST(coalesce(sum(CAST((hi - lo + 1) * ({_cost_sql(n_keys, imp, new)})
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


def mask_keys(mask: int, keys: Sequence[str]) -> list[str]:
    return [keys[i] for i in bits(mask, len(keys))]
