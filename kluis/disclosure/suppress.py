"""Secondary suppression: hide as little as possible so that every unsafe cell stays protected.

The model is Fischetti-Salazar's: a pattern protects an unsafe cell t by amount d upwards when the
attacker can find a table that agrees with everything published, is non-negative, and has t
raised by d. For each (unsafe cell, value system, direction) the MIP carries such a perturbation y
as continuous variables; a cell may move only if it is hidden (big-M link to its binary).

Small tables (cells x targets <= exact_limit) are solved as one MIP with HiGHS
(scipy.optimize.milp). Medium tables (<= 400 cells) solve the same whole-table MIP a few targets at
a time, earlier complements free. Large tables are decomposed per unsafe cell: a cheapest valid
hypercube (hypercube.py) protects each one; then the attacker's audit looks for any unsafe cell
still not protected, and for each a MIP is solved on its neighbourhood (its own node, its parent
and a few siblings on every dimension) with the cells already hidden free. Protection found on a
sub-table is protection on the whole table (every cell outside it is held fixed), and hiding more
never helps the attacker, so the loop only grows the pattern; it ends when the audit finds nothing.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from kluis.disclosure.attacker import Check, check_protection, witnessed
from kluis.disclosure.hypercube import protect_hypercubes
from kluis.disclosure.linear import TableStructure, restricted_relations
from kluis.errors import Refused


@dataclass
class System:
    """One published quantity of every cell (counts, or response totals) and its protection."""

    name: str
    values: np.ndarray
    up: np.ndarray
    lo: np.ndarray
    lower: float = 0.0  # what everybody knows: no cell is below this
    unit: float = 1.0

    def check(
        self,
        m: sp.csr_matrix,
        hidden: np.ndarray,
        pub_low: np.ndarray | None = None,
        pub_high: np.ndarray | None = None,
        **options: Any,
    ) -> Check:
        """The attacker's audit of a pattern `hidden` on this system's values and protection."""
        return check_protection(
            m, self.values, hidden, self.up, self.lo, self.lower, pub_low, pub_high, **options
        )


@dataclass
class Result:
    hidden: np.ndarray
    method: str
    rounds: int = 0
    mips: int = 0
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    witnesses: list = field(default_factory=list)  # (cell, up move, down move) from hypercubes
    # the certifying audit (exact=False) of the final pattern, per system: the loop below ends
    # only when it finds nothing, so the caller need not run the same audit again
    checks: dict = field(default_factory=dict)


class ProtectionError(Refused, RuntimeError):
    """Some unsafe cell cannot be protected by any pattern the model can find."""


def default_cost(counts: np.ndarray) -> np.ndarray:
    """Information loss of hiding a cell: grows with its size, so margins are hidden last."""
    return 1.0 + np.log1p(np.maximum(counts, 0.0))


def _targets(systems: list[System], cells: np.ndarray) -> list[tuple[int, int, float]]:
    """(cell, system, signed amount) every pattern must allow the attacker's table to move."""
    out = []
    for t in cells:
        for si, s in enumerate(systems):
            if s.up[t] > 0:
                out.append((int(t), si, float(s.up[t])))
            room = s.values[t] - s.lower
            down = min(s.lo[t], room)
            if down > 1e-9 * max(1.0, abs(s.values[t])):
                out.append((int(t), si, -float(down)))
    return out


@contextmanager
def _quiet():
    """Silence HiGHS's MIP solver, which prints some debug lines straight to file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


#: branch-and-bound nodes per MIP; small sub-problems (exact_limit variables) solve to optimality
#: well within it, larger ones stop with their best pattern (measured in docs/disclosure.md)
NODE_LIMIT = 200


def fs_mip(
    m: sp.csr_matrix,
    systems: list[System],
    cells: np.ndarray,
    targets: list[tuple[int, int, float]],
    hidden: np.ndarray,
    cost: np.ndarray,
    time_limit: float = 120.0,
    node_limit: int = NODE_LIMIT,
) -> np.ndarray | None:
    """Fischetti-Salazar MIP on `cells` (others fixed); returns the cells to hide, or None.

    `targets` hold positions into `cells`; `hidden` (aligned with `cells`) are free. The search
    stops at `node_limit` branch-and-bound nodes with the best pattern found so far: a node
    limit, unlike a time limit, gives the same pattern on a busy machine as on a quiet one. The
    time limit is only a safety net.
    """
    n = cells.size
    rel = restricted_relations(m, cells)
    k = len(targets)
    if k == 0:
        return hidden.copy()
    n_var = n * (k + 1)
    c = np.concatenate([np.where(hidden, 0.0, cost), np.zeros(n * k)])
    lb = np.concatenate([hidden.astype(float), np.full(n * k, -np.inf)])
    ub = np.concatenate([np.ones(n), np.full(n * k, np.inf)])
    blocks_eq, blocks_link = [], []
    eye = sp.identity(n, format="csr")
    for q, (pos, si, amount) in enumerate(targets):
        s = systems[si]
        vals = s.values[cells]
        lb[pos] = 1.0
        off = n * (q + 1)
        lb[off + pos] = ub[off + pos] = amount
        # equality rows: rel @ y_q = 0
        blocks_eq.append(
            sp.hstack(
                [
                    sp.csr_matrix((rel.shape[0], n * (q + 1))),
                    rel,
                    sp.csr_matrix((rel.shape[0], n * (k - q - 1))),
                ]
            )
        )
        # caps of |amount| keep the relaxation tight; they only restrict the attacker's moves,
        # so a pattern found with them is still a valid pattern (and the audit checks it)
        up_cap = np.full(n, abs(amount))
        down_cap = np.minimum(np.maximum(vals - s.lower, 0.0), abs(amount))
        # y - U x <= 0 ; -y - D x <= 0
        left = sp.hstack(
            [-sp.diags(up_cap), sp.csr_matrix((n, n * q)), eye, sp.csr_matrix((n, n * (k - q - 1)))]
        )
        right = sp.hstack(
            [
                -sp.diags(down_cap),
                sp.csr_matrix((n, n * q)),
                -eye,
                sp.csr_matrix((n, n * (k - q - 1))),
            ]
        )
        blocks_link += [left, right]
    a_eq = sp.vstack(blocks_eq).tocsr()
    a_link = sp.vstack(blocks_link).tocsr()
    cons = [
        LinearConstraint(a_eq, 0.0, 0.0),
        LinearConstraint(a_link, -np.inf, 0.0),
    ]
    integrality = np.concatenate([np.ones(n), np.zeros(n * k)])
    with _quiet():
        res = milp(
            c,
            constraints=cons,
            integrality=integrality,
            bounds=Bounds(lb, ub),
            options={
                "time_limit": time_limit,
                "node_limit": node_limit,
                "disp": False,
                "mip_rel_gap": 1e-3,
            },
        )
    if res.x is None:
        return None
    assert n_var == res.x.size
    return res.x[:n] > 0.5


def _neighbourhood(
    ts: TableStructure, cell: int, hidden: np.ndarray, cost: np.ndarray, width: int
) -> np.ndarray:
    """Cells of the sub-table around `cell`: per dimension its node, parent, children, siblings."""
    coord = ts.coords()[cell]
    per_dim = []
    for k, d in enumerate(ts.dims):
        node = coord[k]
        par = d.parent
        picks = {int(node)}
        cand = []
        if par[node] >= 0:
            picks.add(int(par[node]))
            cand += [int(s) for s in np.flatnonzero(par == par[node]) if s != node]
        cand += [int(ch) for ch in np.flatnonzero(par == node)]
        if cand:
            # cheapest siblings/children along this line, hidden ones first
            stride = int(np.prod(ts.shape[k + 1 :]))
            idx = cell + (np.array(cand) - node) * stride
            order = np.lexsort((cost[idx], ~hidden[idx]))
            picks.update(int(cand[i]) for i in order[:width])
        per_dim.append(np.array(sorted(picks)))
    return ts.sub_index(per_dim)


def suppress(
    ts: TableStructure,
    systems: list[System],
    primary: np.ndarray,
    cost: np.ndarray | None = None,
    exact_limit: int = 2_000,
    width: int = 1,
    max_rounds: int = 50,
    time_limit: float = 120.0,
    already_hidden: np.ndarray | None = None,
) -> Result:
    """Choose complementary suppressions for the unsafe cells in `primary` (`already_hidden`:
    cells that stay hidden whatever happens, free to serve as complements)."""
    t0 = time.perf_counter()
    m = ts.relations()
    n = ts.n_cells
    if cost is None:
        cost = default_cost(systems[0].values)
    hidden = primary.copy() if already_hidden is None else primary | already_hidden
    prim_idx = np.flatnonzero(primary)
    targets = _targets(systems, prim_idx)
    res = Result(hidden=hidden, method="none")
    if m.shape[0] == 0 or not targets:
        res.method = "primary only"
        res.seconds = time.perf_counter() - t0
        return res
    if n * (len(targets) + 1) <= exact_limit:
        sol = fs_mip(m, systems, np.arange(n), targets, hidden, cost, time_limit)
        res.method = "optimal MIP"
        res.mips = 1
        if sol is not None:  # otherwise the audit-driven repair below protects each cell
            res.hidden = sol | hidden
    elif n <= 400:
        # medium tables: the same MIP over the whole table, a few targets at a time; cells hidden
        # for earlier targets are free for later ones
        res.method = "sequential MIP"
        group = max(1, exact_limit // n - 1)
        order = sorted(targets, key=lambda t: -abs(t[2]))
        for g in range(0, len(order), group):
            sol = fs_mip(
                m,
                systems,
                np.arange(n),
                order[g : g + group],
                res.hidden,
                cost,
                time_limit,
            )
            res.mips += 1
            if sol is not None:  # otherwise the audit-driven repair below protects these
                res.hidden |= sol
    else:
        res.method = "hypercubes + local MIP repair"
        down = [np.minimum(sy.lo, np.maximum(sy.values - sy.lower, 0.0)) for sy in systems]
        order = prim_idx[np.argsort(-systems[0].up[prim_idx], kind="stable")]
        res.hidden, _, res.witnesses = protect_hypercubes(
            ts,
            [sy.values - sy.lower for sy in systems],
            [sy.up for sy in systems],
            down,
            order,
            hidden,
            cost,
        )
    # audit-driven repair loop (for the exact MIP this is a verification)
    for rnd in range(max_rounds):
        violated = np.zeros(n, dtype=bool)
        res.checks = {}
        for s in systems:
            w_up, w_dn = witnessed(m, s.values, res.hidden, s.lower, s.up, s.lo, res.witnesses)
            chk = s.check(
                m,
                res.hidden,
                exact=False,
                unit=s.unit,
                witnessed_up=w_up,
                witnessed_down=w_dn,
            )
            res.checks[s.name] = chk
            violated |= chk.violated
        res.rounds = rnd + 1
        todo = np.flatnonzero(violated)
        res.log.append(f"round {rnd + 1}: {todo.size} unsafe cell(s) not yet protected")
        if todo.size == 0:
            break
        order = todo[np.argsort(-systems[0].values[todo], kind="stable")]
        for t in order:
            w = width
            while True:
                cells = _neighbourhood(ts, int(t), res.hidden, cost, w)
                tpos = int(np.searchsorted(cells, t))
                tg = [(tpos, si, a) for _, si, a in _targets(systems, np.array([t]))]
                sol = fs_mip(m, systems, cells, tg, res.hidden[cells], cost[cells], time_limit)
                res.mips += 1
                if sol is not None:
                    res.hidden[cells[sol]] = True
                    break
                if w >= max(d.size for d in ts.dims):
                    raise ProtectionError(f"cell {t}: no pattern in its neighbourhood protects it")
                w = w * 3
    else:
        raise ProtectionError(f"protection not reached after {max_rounds} rounds")
    res.seconds = time.perf_counter() - t0
    return res
