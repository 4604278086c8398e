"""The linear structure of a table with margins and hierarchies.

Every cell of a protected table is a point of the product of the dimensions' *node* sets: a node is
a leaf code, a group at a higher hierarchy level (a region, a NACE section) or the dimension's
total. A published table obeys one equation per (internal node, combination of the other
dimensions): parent = sum of children. Both the suppression model and the attacker's audit work on
this sparse matrix, which is why it lives in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

TOTAL = "Total"


@dataclass(frozen=True)
class Dimension:
    """One dimension: leaf codes plus optional hierarchy levels above them, then the total.

    `levels` lists the levels above the leaves, finest first, each as (name, mapping child code ->
    parent code); the mapping of the first level maps leaf codes, the next one maps that level's
    codes, and so on. The total is always added on top.
    """

    name: str
    codes: tuple[str, ...]
    levels: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    total: bool = True
    leaf_level: str = "code"

    @cached_property
    def nodes(self) -> tuple[tuple[str, str], ...]:
        """(level, code) of every node, leaves first, then each level, then the total."""
        out = [(self.leaf_level, c) for c in self.codes]
        below = list(self.codes)
        for lname, mapping in self.levels:
            m = dict(mapping)
            missing = [c for c in below if c not in m]
            if missing:
                raise ValueError(
                    f"dimension {self.name}: level {lname} has no parent for {missing[:5]}"
                )
            parents = list(dict.fromkeys(m[c] for c in below))
            out += [(lname, p) for p in parents]
            below = parents
        if self.total:
            out.append((TOTAL, TOTAL))
        return tuple(out)

    @cached_property
    def parent(self) -> np.ndarray:
        """Index of each node's parent node (-1 for the top)."""
        index = {n: i for i, n in enumerate(self.nodes)}
        par = np.full(len(self.nodes), -1, dtype=np.int64)
        below_level, below = self.leaf_level, list(self.codes)
        for lname, mapping in self.levels:
            m = dict(mapping)
            for c in below:
                par[index[(below_level, c)]] = index[(lname, m[c])]
            below_level, below = lname, list(dict.fromkeys(m[c] for c in below))
        if self.total:
            for c in below:
                par[index[(below_level, c)]] = index[(TOTAL, TOTAL)]
        return par

    @property
    def size(self) -> int:
        return len(self.nodes)

    def leaf_ancestors(self) -> np.ndarray:
        """(n_leaves, n_levels+total) matrix: node index of each leaf at every level up."""
        n_up = len(self.levels) + (1 if self.total else 0)
        out = np.empty((len(self.codes), n_up + 1), dtype=np.int64)
        out[:, 0] = np.arange(len(self.codes))
        for k in range(1, n_up + 1):
            out[:, k] = self.parent[out[:, k - 1]]
        return out


@dataclass(frozen=True)
class TableStructure:
    """A table: the product of its dimensions' node sets, in C order."""

    dims: tuple[Dimension, ...]
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        if "shape" not in self._cache:
            self._cache["shape"] = tuple(d.size for d in self.dims)
        return self._cache["shape"]

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape)) if self.dims else 1

    def coords(self) -> np.ndarray:
        """(n_cells, n_dims) node index per dimension of every cell."""
        if "coords" not in self._cache:
            idx = np.indices(self.shape).reshape(len(self.dims), -1).T
            self._cache["coords"] = np.ascontiguousarray(idx)
        return self._cache["coords"]

    def is_leaf(self) -> np.ndarray:
        """True for interior cells (a leaf code on every dimension)."""
        c = self.coords()
        out = np.ones(self.n_cells, dtype=bool)
        for k, d in enumerate(self.dims):
            out &= c[:, k] < len(d.codes)
        return out

    def cell_keys(self) -> list[tuple[tuple[str, str, str], ...]]:
        """Identity of every cell across tables: ((dim, level, code), ...) without totals."""
        c = self.coords()
        out = []
        for row in c:
            key = []
            for k, d in enumerate(self.dims):
                lvl, code = d.nodes[row[k]]
                if lvl != TOTAL:
                    key.append((d.name, lvl, code))
            out.append(tuple(sorted(key)))
        return out

    def relations(self) -> sp.csr_matrix:
        """Sparse (n_relations, n_cells) matrix M with M @ x == 0 for every additive table x."""
        if "rel" in self._cache:
            return self._cache["rel"]
        shape = self.shape
        strides = np.array([int(np.prod(shape[k + 1 :])) for k in range(len(shape))])
        rows, cols, vals = [], [], []
        n_rows = 0
        for k, d in enumerate(self.dims):
            other = [np.arange(s) * strides[j] for j, s in enumerate(shape) if j != k]
            base = np.zeros(1, dtype=np.int64)
            for o in other:
                base = (base[:, None] + o[None, :]).ravel()
            par = d.parent
            internal = np.unique(par[par >= 0])
            pos = {int(p): i for i, p in enumerate(internal)}
            for p in internal:
                r = n_rows + pos[int(p)] * base.size + np.arange(base.size)
                rows.append(r)
                cols.append(base + p * strides[k])
                vals.append(np.ones(base.size))
                for ch in np.flatnonzero(par == p):
                    rows.append(r)
                    cols.append(base + ch * strides[k])
                    vals.append(-np.ones(base.size))
            n_rows += internal.size * base.size
        if not rows:
            m = sp.csr_matrix((0, self.n_cells))
        else:
            m = sp.csr_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n_rows, self.n_cells),
            )
        self._cache["rel"] = m
        return m

    def sub_index(self, per_dim: list[np.ndarray]) -> np.ndarray:
        """Cell indices of the sub-product of the given node index sets (C order)."""
        shape = self.shape
        idx = np.zeros(1, dtype=np.int64)
        for k, nodes in enumerate(per_dim):
            stride = int(np.prod(shape[k + 1 :]))
            idx = (idx[:, None] + np.asarray(nodes, dtype=np.int64)[None, :] * stride).ravel()
        return idx


def restricted_relations(m: sp.csr_matrix, cells: np.ndarray) -> sp.csr_matrix:
    """The relations of M on a subset of cells, every other cell held fixed.

    A perturbation that moves only `cells` keeps the table additive iff it satisfies these rows, so
    protection found on a subset is real protection on the whole table.
    """
    sub = m[:, cells].tocsr()
    keep = np.diff(sub.indptr) > 0
    return sub[keep]
