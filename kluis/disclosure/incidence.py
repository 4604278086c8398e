"""Which atoms (atoms.py) make up each cell of a release: the membership matrices of the
linked audit, and the leaf cells a published zero empties."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from kluis.disclosure.atoms import Space, atom_codes
from kluis.disclosure.linear import TOTAL
from kluis.disclosure.record import Record


def cell_name(rec: Record, cell: int) -> str:
    parts = []
    for k, d in enumerate(rec.structure.dims):
        level, code = d.nodes[rec.structure.coords()[cell, k]]
        if level != TOTAL:
            parts.append(f"{d.name}={code}")
    return ", ".join(parts) or "(grand total)"


def incidence(
    space: Space, r: int, structure_of: Record, pieces: np.ndarray, leaves_only: bool = False
) -> sp.csr_matrix:
    """(cells of `structure_of`, atoms) membership over the atoms of `pieces` (others empty);
    pieces whose atoms do not determine the table's codes are left out. `leaves_only`: the
    leaf cells' rows only (margins follow from the table's own relations)."""
    ts = structure_of.structure
    strides = [int(np.prod(ts.shape[k + 1 :])) for k in range(len(ts.dims))]
    anc = [d.leaf_ancestors() for d in ts.dims]
    levels = [range(1) if leaves_only else range(a.shape[1]) for a in anc]
    rows, cols = [], []
    for p in np.flatnonzero(pieces):
        codes = []
        for k in range(len(ts.dims)):
            c = atom_codes(space, int(p), space.var_of[(r, k)])
            if c is None:
                break
            codes.append(c.astype(np.int64))
        else:
            atoms = np.arange(space.atom_offset[p], space.atom_offset[p + 1])
            for js in itertools.product(*levels):
                cell = np.zeros(atoms.size, dtype=np.int64)
                for k, j in enumerate(js):
                    cell += anc[k][codes[k], j] * strides[k]
                rows.append(cell)
                cols.append(atoms)
    if not rows:
        return sp.csr_matrix((ts.n_cells, space.n_atoms))
    r_all, c_all = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r_all.size), (r_all, c_all)), shape=(ts.n_cells, space.n_atoms))


def zero_leaves(rec: Record, zero: np.ndarray) -> np.ndarray:
    """Leaf cells that a published zero (the cell itself or any margin above it) empties."""
    ts = rec.structure
    strides = [int(np.prod(ts.shape[k + 1 :])) for k in range(len(ts.dims))]
    anc = [d.leaf_ancestors() for d in ts.dims]
    grids = np.meshgrid(*[np.arange(a.shape[0]) for a in anc], indexing="ij")
    leaf = sum(g.ravel() * s for g, s in zip(grids, strides, strict=True))
    out = np.zeros(ts.n_cells, dtype=bool)
    hit = np.zeros(leaf.size, dtype=bool)
    for js in itertools.product(*[range(a.shape[1]) for a in anc]):
        cell = sum(
            anc[k][g.ravel(), j] * strides[k]
            for k, (g, j) in enumerate(zip(grids, js, strict=True))
        )
        hit |= zero[cell]
    out[leaf[hit]] = True
    return out
