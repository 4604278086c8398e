"""Fast protection of many unsafe cells at once: one "hypercube" per cell (GHMITER-like).

For every dimension choose a one-dimensional move that keeps that dimension's relations: +1 on the
root path of a leaf under the cell's node, and optionally -1 on the root path of another leaf
outside it (what is common to both paths cancels). The tensor product of these moves changes no
published margin, so hiding its support lets the attacker move the unsafe cell by the protection
amount, provided every corner that goes down can go down that far. Per cell the cheapest such
hypercube among a few candidates per dimension is chosen; cells already hidden cost nothing, so
later cells reuse earlier complements. Valid with hierarchies because each move follows the tree.
"""

from __future__ import annotations

import numpy as np

from kluis.disclosure.linear import TableStructure


class _DimInfo:
    """Per dimension: root paths and subtree leaves of every node."""

    def __init__(self, d) -> None:
        self.parent = d.parent
        self.n_leaves = len(d.codes)
        self.paths = []
        for i in range(d.size):
            p, j = [i], i
            while self.parent[j] >= 0:
                j = int(self.parent[j])
                p.append(j)
            self.paths.append(p)
        under = [[] for _ in range(d.size)]
        for leaf in range(self.n_leaves):
            for anc in self.paths[leaf]:
                under[anc].append(leaf)
        self.under = [np.array(u, dtype=np.int64) for u in under]
        leaves = np.arange(self.n_leaves)
        self.outside = [np.setdiff1d(leaves, u, assume_unique=True) for u in self.under]
        self.siblings = [
            self.outside[a][self.parent[self.outside[a]] == self.parent[a]]
            for a in range(self.n_leaves)
        ]
        self._moves: dict = {}

    def move(self, a: int, b: int | None) -> tuple[list[int], list[int]]:
        """Nodes and signs of the 1-D move +path(a) - path(b) (memoised)."""
        key = (a, b)
        if key not in self._moves:
            self._moves[key] = self._move(a, b)
        return self._moves[key]

    def _move(self, a: int, b: int | None) -> tuple[list[int], list[int]]:
        pa = self.paths[a]
        if b is None:
            return pa, [1] * len(pa)
        pb = self.paths[b]
        common = set(pa) & set(pb)
        nodes = [x for x in pa if x not in common] + [x for x in pb if x not in common]
        signs = [1] * sum(x not in common for x in pa) + [-1] * sum(x not in common for x in pb)
        return nodes, signs


def _strides(ts: TableStructure) -> list[int]:
    if "strides" not in ts._cache:
        shape = ts.shape
        ts._cache["strides"] = [int(np.prod(shape[j + 1 :])) for j in range(len(shape))]
    return ts._cache["strides"]


def _line_cells(ts: TableStructure, cell: int, k: int, nodes: np.ndarray) -> np.ndarray:
    stride = _strides(ts)[k]
    own = (cell // stride) % ts.dims[k].size
    return cell + (nodes - own) * stride


def _options(
    ts: TableStructure,
    info: _DimInfo,
    k: int,
    cell: int,
    hidden: np.ndarray,
    cost: np.ndarray,
    cap: np.ndarray,
    need: float,
    width: int,
) -> list[tuple[list[int], list[int]]]:
    """Candidate 1-D moves for dimension k of `cell`, best first."""
    stride = _strides(ts)[k]
    own = int((cell // stride) % ts.dims[k].size)
    under = info.under[own]
    # the plus leaf: the cell itself if a leaf, else the best leaf below it
    if own < info.n_leaves:
        a_list = [own]
    else:
        lc = _line_cells(ts, cell, k, under)
        rank = np.lexsort((cost[lc], cap[lc] < need, ~hidden[lc]))
        a_list = [int(under[rank[0]])]
    opts = []
    outside = info.outside[own]
    for a in a_list:
        opts.append(info.move(a, None))
        if outside.size:
            lc = _line_cells(ts, cell, k, outside)
            rank = np.lexsort((cost[lc], cap[lc] < need, ~hidden[lc]))
            # siblings first: they keep the move short
            for b in outside[rank[:width]]:
                opts.append(info.move(a, int(b)))
            sib = info.siblings[a] if own < info.n_leaves else outside[:0]
            if sib.size:
                lc = _line_cells(ts, cell, k, sib)
                b = sib[int(np.lexsort((cost[lc], cap[lc] < need, ~hidden[lc]))[0])]
                opts.append(info.move(a, int(b)))
    uniq, seen = [], set()
    for nodes, signs in opts:
        key = tuple(zip(nodes, signs, strict=True))
        if key not in seen:
            seen.add(key)
            uniq.append((nodes, signs))
    return uniq


def _combos(ts: TableStructure, cell: int, per_dim: list[list[tuple[list[int], list[int]]]]):
    """All hypercubes: (n_combos, n_corners) cell indices and signs (0 = padding)."""
    strides = _strides(ts)
    coord = ts.coords()[cell]
    dim_arrays = []
    for k, opts in enumerate(per_dim):
        w = max(len(n) for n, _ in opts)
        nodes = np.full((len(opts), w), coord[k])
        signs = np.zeros((len(opts), w))
        for i, (n, s) in enumerate(opts):
            nodes[i, : len(n)] = n
            signs[i, : len(s)] = s
        dim_arrays.append((nodes * strides[k], signs))
    idx = np.zeros((1, 1), dtype=np.int64)
    sg = np.ones((1, 1))
    for off, s in dim_arrays:
        # combos multiply, corners multiply
        idx = (idx[:, None, :, None] + off[None, :, None, :]).reshape(
            idx.shape[0] * off.shape[0], -1
        )
        sg = (sg[:, None, :, None] * s[None, :, None, :]).reshape(sg.shape[0] * s.shape[0], -1)
    return idx, sg


def protect_hypercubes(
    ts: TableStructure,
    values: list[np.ndarray],
    need_up: list[np.ndarray],
    need_down: list[np.ndarray],
    targets: np.ndarray,
    hidden: np.ndarray,
    cost: np.ndarray,
    width: int = 3,
) -> tuple[np.ndarray, np.ndarray, list]:
    """Hide one cheapest valid hypercube per target cell.

    Returns the new hidden mask, the targets no candidate could protect, and per protected target
    its witness moves (cell, (corners, signs) upwards, (corners, signs) downwards) so the audit
    can verify them instead of re-deriving them.
    """
    hidden = hidden.copy()
    infos = [_DimInfo(d) for d in ts.dims]
    cap = np.min(values, axis=0)
    need = np.max(need_up, axis=0)
    failed, witnesses = [], []
    for t in targets:
        per_dim = [
            _options(ts, infos[k], k, int(t), hidden, cost, cap, need[t], width)
            for k in range(len(ts.dims))
        ]
        idx, sg = _combos(ts, int(t), per_dim)
        live = sg != 0
        c = np.where(live & ~hidden[idx], cost[idx], 0.0).sum(axis=1)
        ok_up = np.ones(idx.shape[0], dtype=bool)
        ok_dn = np.ones(idx.shape[0], dtype=bool)
        for v, up, dn in zip(values, need_up, need_down, strict=True):
            ok_up &= ~((sg < 0) & (v[idx] < up[t] - 1e-9)).any(axis=1)
            ok_dn &= ~((sg > 0) & (idx != t) & (v[idx] < dn[t] - 1e-9)).any(axis=1)
        both = ok_up & ok_dn
        if both.any():
            pick = [int(np.argmin(np.where(both, c, np.inf)))] * 2
        elif ok_up.any() and ok_dn.any():
            pick = [int(np.argmin(np.where(ok_up, c, np.inf)))]
            pick.append(int(np.argmin(np.where(ok_dn, c, np.inf))))
        else:
            failed.append(int(t))
            continue
        for p in pick:
            hidden[idx[p][live[p]]] = True
        u, d = pick
        witnesses.append(
            (int(t), (idx[u][live[u]], sg[u][live[u]]), (idx[d][live[d]], sg[d][live[d]]))
        )
    return hidden, np.array(failed, dtype=np.int64), witnesses
