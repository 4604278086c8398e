"""Exact (or restricted) MIP for local suppression over key patterns, solved with HiGHS.

Variables: x[p, M] = 1 when unsafe pattern p is released with mask M (only masks under which p
could reach k at all); y[g] = 1 when the class g = (M, stratum, values outside M) is used.
  sum_M x[p, M] = 1                       every unsafe pattern gets one mask
  x[p, M] <= y[g(p, M)]                   a pattern joins a used class
  sum n_p x[p, M] + e_g >= k y[g]          a used class reaches k (e_g: records already
                                           released with exactly that pattern)
  minimise sum n_p cost(M) x[p, M]
Classes that already hold k records need no y. With every feasible mask, the MIP is the exact
problem (safe records untouched) and its dual bound a lower bound; when that is too large, each
pattern keeps only the masks no dearer than its greedy choice, which keeps the greedy solution
feasible (it is the warm start) so the MIP can only improve on it.

Deterministic: a fixed seed and a node limit (the time limit is a safety net only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import scipy.sparse as sp

from kluis.highs import highspy
from kluis.risk.sql import cost_sql, klist, masked, same_keys

#: largest model (candidate pattern-mask pairs) handed to the MIP, per stratum
MAX_PAIRS = 60_000
#: pairs all MIPs of one suppression may take by default (`auto`): seconds, not minutes
AUTO_PAIRS = 25_000
MAX_NODES = 5_000
TIME_LIMIT = 300.0


@dataclass(frozen=True)
class MipResult:
    cost: float
    dual_bound: float
    exact: bool  # every feasible mask was a candidate: dual_bound bounds the true optimum
    optimal: bool
    nodes: int
    pairs: int


def candidates(
    con: duckdb.DuckDBPyConnection,
    pat: str,
    asg: str,
    n_keys: int,
    k: int,
    imp: Sequence[float],
    out: str,
    *,
    restrict: bool,
    stratum: int | None = None,
) -> int:
    """`out` (pid, n, m, cost, g, e, greedy): every feasible (pattern, mask) pair of a stratum;
    with `restrict`, only masks no dearer than the pattern's greedy mask. Returns the pair
    count."""
    only = f"AND p.s = {int(stratum)}" if stratum is not None else ""
    ks = klist(n_keys)
    masks = "(VALUES " + ", ".join(f"({m})" for m in range(1, 1 << n_keys)) + ") lv(m)"
    cost = cost_sql(n_keys, imp, "(lv.m & ~u.mask)")
    limit = f"AND {cost} <= u.gcost + 1e-9" if restrict else ""
    gcost = cost_sql(n_keys, imp, "(a.mask & ~p.mask)")
    # materialised step by step: DuckDB 2.0 trips an internal assertion ("dict-surviving
    # cache") when the pattern-mask expansion feeds the joins below in one pipeline
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out}_c AS
        WITH uns AS (SELECT p.*, {gcost} AS gcost FROM {pat} p
                     JOIN {asg} a ON a.pid = p.pid WHERE p.n < {k} {only})
        SELECT u.pid, u.n, lv.m, u.s, {cost} AS cost, {masked(n_keys, "u.", "lv.m")}
        FROM uns u JOIN {masks} ON (u.mask & ~lv.m) = 0 {limit}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out}_g AS
        WITH pot AS (SELECT m, s, {ks}, sum(n) AS tot FROM {out}_c GROUP BY ALL),
        ex AS (SELECT mask AS m, s, {ks}, sum(n) AS n FROM {pat} WHERE n >= {k} GROUP BY ALL)
        SELECT pot.m, pot.s, {klist(n_keys, "pot.")}, coalesce(ex.n, 0) AS e,
               row_number() OVER (ORDER BY pot.m, pot.s, {klist(n_keys, "pot.")}) AS g
        FROM pot LEFT JOIN ex ON ex.m = pot.m AND ex.s = pot.s AND {same_keys(n_keys, "ex", "pot")}
        WHERE pot.tot + coalesce(ex.n, 0) >= {k}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT c.pid, c.n, c.m, c.cost, g.g, g.e, coalesce(a.mask = c.m, false) AS greedy
        FROM {out}_c c JOIN {out}_g g ON g.m = c.m AND g.s = c.s AND {same_keys(n_keys, "g", "c")}
        LEFT JOIN {asg} a ON a.pid = c.pid"""
    )
    con.execute(f"DROP TABLE IF EXISTS {out}_c")
    con.execute(f"DROP TABLE IF EXISTS {out}_g")
    return int(con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0])


def pair_estimate(
    con: duckdb.DuckDBPyConnection,
    pat: str,
    asg: str,
    n_keys: int,
    k: int,
    imp: Sequence[float],
    levels: Sequence[tuple[float, Sequence[int]]],
    *,
    restrict: bool,
    stratum: int | None = None,
) -> int:
    """An upper bound of the candidate pairs, without building them (masks not yet filtered by
    feasibility): all masks per unsafe pattern, or those no dearer than its greedy mask."""
    only = f"AND p.s = {int(stratum)}" if stratum is not None else ""
    if not restrict:
        n = con.execute(f"SELECT count(*) FROM {pat} p WHERE n < {k} {only}").fetchall()[0][0]
        return int(n) * ((1 << n_keys) - 1)
    cum, upto = [], 0
    for cost, masks in levels:
        upto += len(masks)
        cum.append(f"({cost}, {upto})")
    table = "(VALUES " + ", ".join(cum) + ") lv(cost, masks)"
    gcost = cost_sql(n_keys, imp, "(a.mask & ~p.mask)")
    n = con.execute(
        f"""SELECT coalesce(sum((SELECT max(lv.masks) FROM {table} WHERE lv.cost <= g.c + 1e-9)),
                            0)
            FROM (SELECT {gcost} AS c FROM {pat} p JOIN {asg} a ON a.pid = p.pid
                  WHERE p.n < {k} {only}) g"""
    ).fetchall()[0][0]
    return int(n)


def solve(con: duckdb.DuckDBPyConnection, cand: str, k: int, *, exact: bool, out: str) -> MipResult:
    """Solve the MIP over the candidate table; `out` (pid, mask) holds the chosen masks."""
    arrays = con.execute(
        f"SELECT pid, n, m, cost, g, e, greedy FROM {cand} ORDER BY pid, g"
    ).fetchnumpy()
    pid = arrays["pid"].astype(np.int64)
    n = arrays["n"].astype(float)
    m = arrays["m"].astype(np.int64)
    cost = arrays["cost"].astype(float)
    g = arrays["g"].astype(np.int64) - 1
    e = arrays["e"].astype(float)
    greedy = arrays["greedy"].astype(bool)
    n_x = len(pid)
    patterns_, p_idx = np.unique(pid, return_inverse=True)
    n_g = int(g.max()) + 1 if n_x else 0
    e_g = np.zeros(n_g)
    e_g[g] = e
    needy = np.flatnonzero(e_g < k)
    y_of = np.full(n_g, -1)
    y_of[needy] = np.arange(len(needy))
    n_y = len(needy)
    has_y = y_of[g] >= 0
    xs = np.flatnonzero(has_y)
    n_rows_a = len(patterns_)
    # rows: [assignment per pattern] [x <= y per pair with a needy class] [class reaches k]
    rows = np.concatenate(
        [
            p_idx,
            n_rows_a + np.arange(len(xs)),
            n_rows_a + np.arange(len(xs)),
            n_rows_a + len(xs) + y_of[g[xs]],
            n_rows_a + len(xs) + np.arange(n_y),
        ]
    )
    cols = np.concatenate([np.arange(n_x), xs, n_x + y_of[g[xs]], xs, n_x + np.arange(n_y)])
    vals = np.concatenate(
        [np.ones(n_x), np.ones(len(xs)), -np.ones(len(xs)), n[xs], -(k - e_g[needy])]
    )
    n_rows = n_rows_a + len(xs) + n_y
    a = sp.csc_matrix((vals, (rows, cols)), shape=(n_rows, n_x + n_y))
    lower = np.concatenate([np.ones(n_rows_a), np.full(len(xs), -highspy.kHighsInf), np.zeros(n_y)])
    upper = np.concatenate([np.ones(n_rows_a), np.zeros(len(xs)), np.full(n_y, highspy.kHighsInf)])
    h = highspy.Highs()
    # no `threads` option: HiGHS fixes its thread pool for the whole process at the first
    # solve (the disclosure engine may have started it), and its MIP is deterministic anyway
    for option, value in (
        ("output_flag", False),
        ("random_seed", 0),
        ("mip_max_nodes", MAX_NODES),
        ("time_limit", TIME_LIMIT),
        ("mip_rel_gap", 0.0),
    ):
        h.setOptionValue(option, value)
    lp = highspy.HighsLp()
    lp.num_col_ = n_x + n_y
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([n * cost, np.zeros(n_y)])
    lp.col_lower_ = np.zeros(n_x + n_y)
    lp.col_upper_ = np.ones(n_x + n_y)
    lp.row_lower_ = lower
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (n_x + n_y)
    h.passModel(lp)
    if greedy.any():  # warm start: the greedy solution, when it is among the candidates
        start = np.zeros(n_x + n_y)
        start[:n_x] = greedy
        used = np.unique(g[greedy & has_y])
        start[n_x + y_of[used]] = 1
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        h.setSolution(sol)
    if h.run() == highspy.HighsStatus.kError:
        raise RuntimeError(
            f"HiGHS failed on the suppression MIP: {h.modelStatusToString(h.getModelStatus())}"
        )
    info = h.getInfo()
    status = h.getModelStatus()
    values = np.asarray(h.getSolution().col_value) if info.primal_solution_status == 2 else None
    chosen = np.flatnonzero(values[:n_x] > 0.5) if values is not None else np.array([], int)
    import pyarrow as pa

    con.register(f"{out}_arrow", pa.table({"pid": pid[chosen], "mask": m[chosen]}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM {out}_arrow")
    con.unregister(f"{out}_arrow")
    ok = values is not None and len(chosen) == len(patterns_)
    return MipResult(
        cost=float(info.objective_function_value) if ok else float("inf"),
        dual_bound=float(info.mip_dual_bound) if exact else 0.0,
        exact=exact,
        optimal=status == highspy.HighsModelStatus.kOptimal,
        nodes=int(info.mip_node_count),
        pairs=n_x,
    )


def polish(
    con: duckdb.DuckDBPyConnection,
    result: Any,
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
    (above), as long as the models together stay within `budget` pattern-mask pairs;
    returns the strata whose masks the MIP replaced."""
    cand, chosen = f"{prefix}_cand", f"{prefix}_mip"
    strata = [
        int(r[0])
        for r in con.execute(f"SELECT DISTINCT s FROM {pat} WHERE n < {k} ORDER BY s").fetchall()
    ]
    runs: list[MipResult] = []
    replaced: set[int] = set()
    used = 0
    for s in strata:
        greedy = stratum_cost(con, pat, asg, n_keys, imp, s)
        mip = None
        for restrict in (False, True):
            est = pair_estimate(con, pat, asg, n_keys, k, imp, levels, restrict=restrict, stratum=s)
            room = min(MAX_PAIRS, budget - used)
            if est > 4 * room:
                continue
            pairs = candidates(con, pat, asg, n_keys, k, imp, cand, restrict=restrict, stratum=s)
            if pairs <= room:
                mip = solve(con, cand, k, exact=not restrict, out=chosen)
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
        result.mip = MipResult(
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


def budget_for(mode: str) -> int:
    """Pattern-mask pairs the MIPs of one suppression may take: `auto` keeps to models that
    solve in seconds, `mip` goes up to the largest model per stratum."""
    if mode not in ("auto", "mip"):
        raise ValueError(f"unknown optimisation mode {mode!r}: auto, greedy or mip")
    return AUTO_PAIRS if mode == "auto" else 10**12


def stratum_cost(
    con: duckdb.DuckDBPyConnection, pat: str, asg: str, n_keys: int, imp: Sequence[float], s: int
) -> float:
    return float(
        con.execute(
            f"""SELECT coalesce(sum(p.n * ({cost_sql(n_keys, imp, "(a.mask & ~p.mask)")})), 0)
                FROM {pat} p JOIN {asg} a ON a.pid = p.pid WHERE p.s = {s}"""
        ).fetchall()[0][0]
    )
