"""The audit of a new table together with every earlier release it shares persons with: one LP
over all of them, as the attacker would write it.

Unknowns: the persons of every atom (atoms.py), each >= 0. Every cell of every linked release is
a sum of atoms: published cells are equations (or intervals, when rounded or noisy), hidden
cells are free and must keep the protection their own table gave them, whichever table came
first. Counts come from every table (a mean, maximum or percentile table publishes its counts
too); response totals link the magnitude tables of the same response. Beside the tables' own
cells the attacker also asks about the persons one release covers and another does not
(differencing): such a group in any cell must not be pinned to between 1 and n-1 persons, so
the audit requires that the attacker cannot exclude that none of them is there.

The LP goes to the same solver code as the single-table audit (attacker.check_protection), which
certifies every protection without claiming more than it proved.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from kluis.disclosure.atoms import Space, TooLarge, atom_codes, build_space, linked_component
from kluis.disclosure.attacker import check_protection
from kluis.disclosure.linear import TOTAL
from kluis.disclosure.record import Record


@dataclass
class Target:
    """A group of persons the attacker must not pin down: not a cell of any table."""

    rows: sp.csr_matrix  # 1 x atoms
    value: float
    description: str


def _finding(severity: str, kind: str, cell: str, detail: str, release: str) -> dict:
    return {"severity": severity, "kind": kind, "cell": cell, "detail": detail, "release": release}


def linkable(rec: Record) -> str | None:
    """Why a record cannot be linked by its persons, or None."""
    if rec.members is None:
        return "aggregated input: its persons are unknown"
    if rec.meta["count_basis"] != "persons":
        return f"its counts are {rec.meta['count_basis']}, not distinct persons"
    if rec.members["person"].duplicated().any():
        return "some persons are in several of its cells"
    return None


def cell_name(rec: Record, cell: int) -> str:
    parts = []
    for k, d in enumerate(rec.structure.dims):
        level, code = d.nodes[rec.structure.coords()[cell, k]]
        if level != TOTAL:
            parts.append(f"{d.name}={code}")
    return ", ".join(parts) or "(grand total)"


def incidence(space: Space, r: int, structure_of: Record, pieces: np.ndarray) -> sp.csr_matrix:
    """(cells of `structure_of`, atoms) membership over the atoms of `pieces` (others empty);
    pieces whose atoms do not determine the table's codes are left out."""
    ts = structure_of.structure
    strides = [int(np.prod(ts.shape[k + 1 :])) for k in range(len(ts.dims))]
    anc = [d.leaf_ancestors() for d in ts.dims]
    rows, cols = [], []
    for p in np.flatnonzero(pieces):
        codes = []
        for k in range(len(ts.dims)):
            c = atom_codes(space, int(p), space.var_of[(r, k)])
            if c is None:
                break
            codes.append(c.astype(np.int64))
        else:
            atoms = space.atom_offset[p] + np.arange(
                space.atom_offset[p + 1] - space.atom_offset[p]
            )
            for js in itertools.product(*[range(a.shape[1]) for a in anc]):
                cell = np.zeros(atoms.size, dtype=np.int64)
                for k, j in enumerate(js):
                    cell += anc[k][codes[k], j] * strides[k]
                rows.append(cell)
                cols.append(atoms)
    if not rows:
        return sp.csr_matrix((ts.n_cells, space.n_atoms))
    r_all, c_all = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r_all.size), (r_all, c_all)), shape=(ts.n_cells, space.n_atoms))


def _differences(space: Space, truth: np.ndarray) -> list[Target]:
    """Persons in release a and not in b, in every cell of a and of b, that hold 1..n-1
    persons: each distinct group of atoms once."""
    recs = space.records
    out: list[Target] = []
    seen: set[bytes] = set()
    for a, b in itertools.permutations(range(len(recs)), 2):
        d = space.covers[:, a] & ~space.covers[:, b]
        if not d.any():
            continue
        n = max(recs[a].meta["rules"]["min_frequency"], recs[b].meta["rules"]["min_frequency"])
        for s in (a, b):
            inc = incidence(space, s, recs[s], d)
            values = inc @ truth
            for c in np.flatnonzero((values >= 1) & (values <= n - 1)):
                row = inc[c]
                key = row.indices.tobytes()
                if key in seen:
                    continue
                seen.add(key)
                out.append(
                    Target(
                        row,
                        float(values[c]),
                        f"persons in {recs[a].name} and not in {recs[b].name}, "
                        f"{cell_name(recs[s], int(c))}",
                    )
                )
    return out


def _system(
    space: Space,
    members: list[int],
    name: str,
    atom_values: np.ndarray,
    lower: float,
    targets: list[Target],
) -> list[dict]:
    """Audit one value system (counts or totals) over the releases `members`."""
    recs = space.records
    blocks, values, hidden, up, lo, low, high, owner = [], [], [], [], [], [], [], []
    for r in members:
        rec = recs[r]
        inc = incidence(space, r, rec, space.covers[:, r])
        blocks.append(inc)
        v = rec.cells[name].to_numpy(dtype=float)
        mismatch = np.abs(inc @ atom_values - v) > 1e-6 * np.maximum(1.0, np.abs(v))
        if mismatch.any():  # a damaged record: refuse rather than audit against wrong numbers
            return [
                _finding(
                    "error",
                    "linked",
                    f"{rec.name}: {cell_name(rec, int(np.flatnonzero(mismatch)[0]))}",
                    f"the recorded {name} do not match the record's persons: the history "
                    "cannot be trusted (damaged record?)",
                    rec.name,
                )
            ]
        pub = rec.cells[f"{name}_published"].to_numpy(dtype=bool)
        values.append(v)
        hidden.append(~pub)
        up.append(rec.cells[f"{name}_up"].to_numpy(dtype=float))
        lo.append(rec.cells[f"{name}_lo"].to_numpy(dtype=float))
        low.append(np.where(pub, rec.cells[f"{name}_low"].to_numpy(dtype=float), v))
        high.append(np.where(pub, rec.cells[f"{name}_high"].to_numpy(dtype=float), v))
        owner += [(r, c) for c in range(rec.structure.n_cells)]
    n_cells = sum(b.shape[0] for b in blocks)
    n_atoms = space.n_atoms
    atoms_in = sp.vstack(blocks + [t.rows for t in targets]).tocsr()
    n_rows = atoms_in.shape[0]
    # rows: (cell or target) - sum of its atoms = 0; columns: cells, atoms, targets
    own = sp.identity(n_rows, format="csr")
    m = sp.hstack([own[:, :n_cells], -atoms_in, own[:, n_cells:]]).tocsr()
    cell_values = np.concatenate(values)
    t_values = np.array([t.value for t in targets])
    all_values = np.concatenate([cell_values, atom_values, t_values])
    cell_hidden = np.concatenate(hidden)
    pub_low = np.concatenate([np.concatenate(low), atom_values, t_values])
    pub_high = np.concatenate([np.concatenate(high), atom_values, t_values])
    # a published zero says every atom in it is empty: those atoms are known
    zero_cells = (~cell_hidden) & (pub_high[:n_cells] <= 0) & (lower >= 0)
    known_zero = np.asarray(atoms_in[:n_cells][zero_cells].sum(axis=0)).ravel() > 0
    used = np.asarray(atoms_in.sum(axis=0)).ravel() > 0
    atom_hidden = used & ~known_zero
    all_hidden = np.concatenate([cell_hidden, atom_hidden, np.ones(len(targets), bool)])
    all_up = np.concatenate([np.concatenate(up), np.zeros(n_atoms), np.zeros(len(targets))])
    # a difference group must be able to be empty: down to zero
    all_lo = np.concatenate([np.concatenate(lo), np.zeros(n_atoms), t_values])
    chk = check_protection(
        m,
        all_values,
        all_hidden,
        all_up,
        all_lo,
        lower=lower,
        pub_low=pub_low,
        pub_high=pub_high,
        exact=False,
    )
    out = []
    iv = chk.intervals
    new_cols = np.zeros(all_values.size, dtype=bool)
    if 0 in members:
        start = sum(b.shape[0] for b in blocks[: members.index(0)])
        new_cols[start : start + blocks[members.index(0)].shape[0]] = True
    lp = _LP(m, all_values, all_hidden, lower, pub_low, pub_high)
    for j in np.flatnonzero(chk.violated):
        upward = iv.high[j] < all_values[j] + all_up[j] - 1e-6
        bound = f"at most {iv.high[j]:g}" if upward else f"at least {iv.low[j]:g}"
        if j < n_cells:
            r, c = owner[j]
            f = _finding(
                "error",
                "linked",
                f"{recs[r].name}: {cell_name(recs[r], c)}",
                f"with the linked releases the attacker knows this hidden {name} is {bound}",
                recs[r].name,
            )
            need = max(all_up[j], all_lo[j]) if name == "count" else 0.0
        elif j >= n_cells + n_atoms:
            t = targets[j - n_cells - n_atoms]
            f = _finding(
                "error",
                "differencing",
                t.description,
                f"the attacker knows this group holds {bound} person(s)",
                "",
            )
            need = t.value
        else:
            continue
        with_new, duals = lp.bound(j, upward)
        without_new, _ = lp.bound(j, upward, free=new_cols)
        if (upward and without_new <= with_new + 1e-6) or (
            not upward and without_new >= with_new - 1e-6
        ):
            # the earlier releases say as much on their own: not this table's doing
            f["severity"] = "warning"
            f["detail"] += " (the earlier releases say so on their own)"
        elif duals is not None:
            first = int(np.flatnonzero(new_cols)[0])
            rows = np.flatnonzero(new_cols & ~all_hidden)
            binding = rows[np.abs(duals[rows]) > 1e-7]
            f["hide"] = [int(x) - first for x in binding]
            f["need"] = float(max(need, recs[0].meta["rules"]["protection_min"]))
        out.append(f)
    return out


class _LP:
    """The linked LP once more, for a single bound: with its duals (which published cells hold
    it where it is) or with some published cells set free (what the rest says on its own)."""

    def __init__(self, m, values, hidden, lower, pub_low, pub_high) -> None:
        self.scale = max(1.0, float(np.abs(values).max()) / 1e3) if values.size else 1.0
        self.m = m.tocsc()
        self.values = values / self.scale
        self.hidden = hidden
        self.lower = np.broadcast_to(np.asarray(lower, dtype=float), values.shape) / self.scale
        self.low, self.high = pub_low / self.scale, pub_high / self.scale

    def bound(
        self, j: int, maximise: bool, free: np.ndarray | None = None
    ) -> tuple[float, np.ndarray | None]:
        """The attacker's bound on column j, and the duals of every row (None if unbounded)."""
        var = self.hidden if free is None else self.hidden | free
        fuzzy = ~var & ((self.low < self.values) | (self.high > self.values))
        cols = np.flatnonzero(var | fuzzy)
        sub = self.m[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        fixed = np.where(var | fuzzy, 0.0, self.values)
        b_eq = -(self.m @ fixed)[rows]
        lb = np.where(var[cols], self.lower[cols], self.low[cols])
        ub = np.where(var[cols], np.inf, self.high[cols])
        c = np.zeros(cols.size)
        pos = int(np.searchsorted(cols, j))
        c[pos] = -1.0 if maximise else 1.0
        res = linprog(
            c, A_eq=sub[rows], b_eq=b_eq, bounds=np.column_stack([lb, ub]), method="highs"
        )
        if res.status != 0:  # unbounded (or no solution): no claim
            return (np.inf if maximise else -np.inf), None
        duals = np.zeros(self.m.shape[0])
        duals[rows] = res.eqlin.marginals
        return float(res.x[pos]) * self.scale, duals


def _totals_groups(space: Space) -> list[list[int]]:
    """Magnitude releases whose response is the same variable (same name and weight, and the
    same value for every person they share)."""
    groups: dict[tuple, list[int]] = {}
    for r, rec in enumerate(space.records):
        if "total" in rec.cells and rec.members is not None and "s" in rec.members:
            groups.setdefault((rec.meta["response"], rec.meta["weight"]), []).append(r)
    return [g for g in groups.values()]


def _person_values(space: Space, group: list[int], per: list[np.ndarray]) -> np.ndarray | None:
    s = np.full(space.n_persons, np.nan)
    for r in group:
        vals = space.records[r].members["s"].to_numpy(dtype=float)
        have = s[per[r]]
        if np.any(~np.isnan(have) & (np.abs(have - vals) > 1e-9 * np.maximum(1, np.abs(vals)))):
            return None  # not the same variable: not linked
        s[per[r]] = vals
    return s


def audit_linked(records: list[Record], new: int) -> list[dict]:
    """Findings of record `new` audited with every record that shares persons with it."""
    findings = []
    ok = []
    for i, rec in enumerate(records):
        why = linkable(rec)
        if why is None:
            ok.append(i)
        elif i == new or rec.members is not None:
            findings.append(
                _finding(
                    "warning",
                    "not linked",
                    rec.name,
                    f"audited on its own only: {why}",
                    rec.name,
                )
            )
    if new not in ok:
        return findings
    usable = [records[i] for i in ok]
    comp = [usable[i] for i in linked_component(usable, ok.index(new))]
    if len(comp) < 2:
        return findings
    comp.sort(key=lambda r: r is not records[new])  # the new table first
    try:
        space = build_space(comp)
    except TooLarge as e:
        return findings + [
            _finding(
                "error",
                "linked",
                "(all cells)",
                f"the linked releases are too large to audit together ({e}); coarsen or split",
                comp[0].name,
            )
        ]
    counts = np.bincount(space.atom_of, minlength=space.n_atoms).astype(float)
    targets = _differences(space, counts)
    findings += _system(space, list(range(len(comp))), "count", counts, 0.0, targets)
    for group in _totals_groups(space):
        s = _person_values(space, group, space.per)
        if s is None or len(group) < 2:
            continue  # a single magnitude table: its own audit covered its totals
        s = np.nan_to_num(s)
        totals = np.bincount(space.atom_of, weights=s, minlength=space.n_atoms)
        lower = 0.0 if s.min() >= 0 else -np.inf
        findings += _system(space, group, "total", totals, lower, [])
    return findings
