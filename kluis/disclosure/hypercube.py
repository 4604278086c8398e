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

#: dimensions with at most this many leaves get a table of all their 1-D moves
TABLE_LEAVES = 256


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
        self._rows: dict = {}
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.width = 2 * max((len(p) for p in self.paths[: self.n_leaves]), default=1)

    def move(self, a: int, b: int | None) -> tuple[list[int], list[int]]:
        """Nodes and signs of the 1-D move +path(a) - path(b)."""
        return self._move(a, b)

    def move_rows(self, pairs) -> tuple[np.ndarray, np.ndarray]:
        """The moves of (a, b) pairs as (n, width) arrays: nodes (-1 = padding) and signs."""
        if self._table is None and self.n_leaves <= TABLE_LEAVES:
            self._build_table()
        if self._table is not None:
            nodes, signs, length = self._table
            a = [x for x, _ in pairs]
            b = [self.n_leaves if y is None else y for _, y in pairs]
            used = int(length[a, b].max())
            return nodes[a, b, :used], signs[a, b, :used]
        pairs = tuple(pairs)
        got = self._rows.get(pairs)
        if got is None:
            got = self._rows[pairs] = self._move_rows(pairs)
        return got

    def _build_table(self) -> None:
        """Every move of this dimension at once (leaf x (leaf or none)), for fast lookups."""
        m = self.n_leaves
        nodes = np.full((m, m + 1, self.width), -1, dtype=np.int64)
        signs = np.zeros((m, m + 1, self.width))
        length = np.zeros((m, m + 1), dtype=np.int64)
        for a in range(m):
            for b in range(m + 1):
                if b < m and a == b:
                    continue
                nd, sg = self._move(a, None if b == m else b)
                nodes[a, b, : len(nd)] = nd
                signs[a, b, : len(sg)] = sg
                length[a, b] = len(nd)
        self._table = (nodes, signs, length)

    def _move_rows(self, pairs) -> tuple[np.ndarray, np.ndarray]:
        rows = []
        for key in pairs:
            row = self._moves.get(key)
            if row is None:
                nodes, signs = self._move(*key)
                row = np.full((2, self.width), -1.0)
                row[0, : len(nodes)] = nodes
                row[1] = 0.0
                row[1, : len(signs)] = signs
                self._moves[key] = row
            rows.append(row)
        both = np.stack(rows)
        used = int(np.count_nonzero(both[:, 1], axis=1).max())  # rows are left-aligned
        return both[:, 0, :used].astype(np.int64), both[:, 1, :used]

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


def _options(
    info: _DimInfo, own: int, key: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate 1-D moves for a cell on node `own` of a dimension, best first.

    `key` ranks the nodes of the cell's line along this dimension (lower is better: hidden
    first, then those that can go down far enough, then the cheapest); ties keep node order.
    """
    under = info.under[own]
    # the plus leaf: the cell itself if a leaf, else the best leaf below it
    a = own if own < info.n_leaves else int(under[int(np.argmin(key[under]))])
    pairs: list[tuple[int, int | None]] = [(a, None)]
    outside = info.outside[own]
    if outside.size:
        # siblings first: they keep the move short
        best = outside[np.argsort(key[outside], kind="stable")[:width]]
        pairs += [(a, int(b)) for b in best]
        sib = info.siblings[a] if own < info.n_leaves else outside[:0]
        if sib.size:
            pairs.append((a, int(sib[int(np.argmin(key[sib]))])))
    # distinct (a, b) give distinct moves: b is a leaf outside a's subtree
    return info.move_rows(dict.fromkeys(pairs))


def _combos(
    coord: np.ndarray, strides: list[int], per_dim: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """All hypercubes: (n_combos, n_corners) cell indices and signs (0 = padding)."""
    idx = np.zeros((1, 1), dtype=np.int64)
    sg = np.ones((1, 1))
    for k, (nodes, signs) in enumerate(per_dim):
        # padding stays on the cell's own node (sign 0), so every index is a real cell
        off = np.where(nodes < 0, coord[k], nodes) * strides[k]
        # combos multiply, corners multiply
        idx = (idx[:, None, :, None] + off[None, :, None, :]).reshape(
            idx.shape[0] * off.shape[0], -1
        )
        sg = (sg[:, None, :, None] * signs[None, :, None, :]).reshape(
            sg.shape[0] * signs.shape[0], -1
        )
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
    batch: int = 64,
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
    vals = np.stack(values)
    ups = np.stack(need_up)
    dns = np.stack(need_down)
    strides = _strides(ts)
    coords = ts.coords()
    # the lines through a cell along every dimension, as one offset array
    sizes = [d.size for d in ts.dims]
    bounds = np.cumsum([0, *sizes])
    lines = np.concatenate(
        [np.arange(d.size, dtype=np.int64) * strides[k] for k, d in enumerate(ts.dims)]
    )
    line_own = np.repeat(np.asarray(strides, dtype=np.int64), sizes)
    # ranking key of a node = 2B (not hidden) + B (cannot go down by `need`) + cost, B > cost
    big = 2.0 * (float(np.abs(cost).max()) + 1.0) if cost.size else 1.0
    shown_key = cost + 2 * big  # hidden cells: cost only (kept up to date below)
    base_key = np.where(hidden, cost, shown_key)
    failed, witnesses = [], []

    def commit(t: int, idx: np.ndarray, sg: np.ndarray, ok_up, ok_dn) -> None:
        """Pick the cheapest valid hypercube of `t` given what is hidden now, and hide it."""
        live = sg != 0
        c = np.where(live & ~hidden[idx], cost[idx], 0.0).sum(axis=1)
        both = ok_up & ok_dn
        if both.any():
            pick = [int(np.argmin(np.where(both, c, np.inf)))] * 2
        elif ok_up.any() and ok_dn.any():
            pick = [int(np.argmin(np.where(ok_up, c, np.inf)))]
            pick.append(int(np.argmin(np.where(ok_dn, c, np.inf))))
        else:
            failed.append(t)
            return
        for p in pick:
            cells = idx[p][live[p]]
            hidden[cells] = True
            base_key[cells] = cost[cells]
        u, d = pick
        witnesses.append((t, (idx[u][live[u]], sg[u][live[u]]), (idx[d][live[d]], sg[d][live[d]])))

    # interior targets (a leaf on every dimension) are prepared in batches: their candidate
    # moves are ranked on the pattern as it was when the batch started, but each is still
    # chosen and hidden one after the other on the pattern as it is then
    tabled = all(info.n_leaves <= TABLE_LEAVES for info in infos)
    for info in infos if tabled else []:
        if info._table is None:
            info._build_table()
    interior = np.ones(coords.shape[0], dtype=bool)
    for k, info in enumerate(infos):
        interior &= coords[:, k] < info.n_leaves
    targets = np.asarray(targets, dtype=np.int64)
    i = 0
    while i < targets.size:
        t = int(targets[i])
        if tabled and batch > 1 and interior[t]:
            j = i + 1
            while j < targets.size and j - i < batch and interior[targets[j]]:
                j += 1
            chunk = targets[i:j]
            idx, sg = _batch_combos(infos, coords, strides, chunk, base_key, cap, need, big, width)
            v = vals[:, idx]  # (systems, targets, combos, corners)
            up_t = ups[:, chunk][:, :, None, None] - 1e-9
            dn_t = dns[:, chunk][:, :, None, None] - 1e-9
            ok_up = ~((sg < 0)[None] & (v < up_t)).any(axis=(0, 3))
            own = idx != chunk[:, None, None]
            ok_dn = ~(((sg > 0) & own)[None] & (v < dn_t)).any(axis=(0, 3))
            for q, tq in enumerate(chunk):
                commit(int(tq), idx[q], sg[q], ok_up[q], ok_dn[q])
            i = j
            continue
        coord = coords[t]
        nt = need[t]
        own_all = np.repeat(coord, sizes)
        line = lines + (t - own_all * line_own)
        key_all = base_key[line] + np.where(cap[line] < nt, big, 0.0)
        per_dim = [
            _options(info, int(coord[k]), key_all[bounds[k] : bounds[k + 1]], width)
            for k, info in enumerate(infos)
        ]
        idx, sg = _combos(coord, strides, per_dim)
        v = vals[:, idx]  # (systems, combos, corners)
        ok_up = ~((sg < 0) & (v < ups[:, t, None, None] - 1e-9)).any(axis=(0, 2))
        ok_dn = ~((sg > 0) & (idx != t) & (v < dns[:, t, None, None] - 1e-9)).any(axis=(0, 2))
        commit(t, idx, sg, ok_up, ok_dn)
        i += 1
    return hidden, np.array(failed, dtype=np.int64), witnesses


def _batch_combos(
    infos: list[_DimInfo],
    coords: np.ndarray,
    strides: list[int],
    chunk: np.ndarray,
    base_key: np.ndarray,
    cap: np.ndarray,
    need: np.ndarray,
    big: float,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate hypercubes of many interior targets at once: (targets, combos, corners).

    Per dimension the same candidates as `_options` for a leaf: the move to the total, the
    `width` best other leaves, and the best sibling (a repeated candidate costs time only).
    """
    n = chunk.size
    rows = np.arange(n)
    idx = np.zeros((n, 1, 1), dtype=np.int64)
    sg = np.ones((n, 1, 1))
    for k, info in enumerate(infos):
        nl = info.n_leaves
        a = coords[chunk, k]
        line = chunk[:, None] + (np.arange(nl)[None, :] - a[:, None]) * strides[k]
        key = base_key[line] + np.where(cap[line] < need[chunk][:, None], big, 0.0)
        key[rows, a] = np.inf
        cols = [np.full(n, nl)]  # +path(a) alone
        nb = min(width, nl - 1)
        if nb > 0:
            best = np.argsort(key, axis=1, kind="stable")[:, :nb]
            cols += [best[:, q] for q in range(nb)]
            par = info.parent[:nl]
            if (par != par[0]).any():  # one parent for all leaves: the best sibling is best[0]
                sib_key = np.where(par[None, :] == par[a][:, None], key, np.inf)
                sib = np.argmin(sib_key, axis=1)
                cols.append(np.where(np.isfinite(sib_key[rows, sib]), sib, nl))
        b = np.stack(cols, axis=1)  # (targets, options)
        nodes_t, signs_t, len_t = info._table
        used = int(len_t[a[:, None], b].max())
        nodes = nodes_t[a[:, None], b, :used]
        signs = signs_t[a[:, None], b, :used]
        off = np.where(nodes < 0, a[:, None, None], nodes) * strides[k]
        n_opt = b.shape[1]
        idx = (idx[:, :, None, :, None] + off[:, None, :, None, :]).reshape(
            n, idx.shape[1] * n_opt, -1
        )
        sg = (sg[:, :, None, :, None] * signs[:, None, :, None, :]).reshape(
            n, sg.shape[1] * n_opt, -1
        )
    return idx, sg
