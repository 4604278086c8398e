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

from kluis.disclosure.atoms import Space, TooLarge, build_space, linked_component
from kluis.disclosure.attacker import check_protection
from kluis.disclosure.incidence import cell_name, incidence, zero_leaves
from kluis.disclosure.persons import Persons, all_distinct, persons_of
from kluis.disclosure.record import Record
from kluis.highs import highspy


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
    if not all_distinct(rec.members["person"].to_numpy()):
        return "some persons are in several of its cells"
    return None


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
    memo: dict | None = None,
) -> list[dict]:
    """Audit one value system (counts or totals) over the releases `members`.

    Columns: every cell of every release, the atoms, the difference groups. Rows: each
    release's own relations (a margin is the sum of its children), each leaf cell is the sum
    of its atoms, each difference group the sum of its atoms: far sparser than writing every
    margin as a sum of atoms."""
    recs = space.records
    leaves, rels, values, hidden, up, lo, low, high, owner, zero_leaf = ([] for _ in range(10))
    for r in members:
        rec = recs[r]
        leaf_inc = incidence(space, r, rec, space.covers[:, r], leaves_only=True)
        v = rec.cells[name].to_numpy(dtype=float)
        is_leaf = rec.structure.is_leaf()
        got = leaf_inc @ atom_values
        mismatch = is_leaf & (np.abs(got - v) > 1e-6 * np.maximum(1.0, np.abs(v)))
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
        pub_hi = np.where(pub, rec.cells[f"{name}_high"].to_numpy(dtype=float), v)
        leaves.append(leaf_inc[is_leaf])
        rels.append(rec.structure.relations())
        values.append(v)
        hidden.append(~pub)
        up.append(rec.cells[f"{name}_up"].to_numpy(dtype=float))
        lo.append(rec.cells[f"{name}_lo"].to_numpy(dtype=float))
        low.append(np.where(pub, rec.cells[f"{name}_low"].to_numpy(dtype=float), v))
        high.append(pub_hi)
        owner += [(r, c) for c in range(rec.structure.n_cells)]
        zero = pub & (pub_hi <= 0) if lower >= 0 else np.zeros(v.size, dtype=bool)
        zero_leaf.append(zero_leaves(rec, zero)[is_leaf])
    sizes = [v.size for v in values]
    starts = np.cumsum([0, *sizes])
    n_cells, n_atoms, n_t = int(starts[-1]), space.n_atoms, len(targets)
    # leaf rows: +1 on the leaf cell's column
    leaf_cols = np.concatenate(
        [starts[i] + np.flatnonzero(recs[r].structure.is_leaf()) for i, r in enumerate(members)]
    )
    n_leaf = leaf_cols.size
    leaf_cells = sp.csr_matrix(
        (np.ones(n_leaf), (np.arange(n_leaf), leaf_cols)), shape=(n_leaf, n_cells)
    )
    leaf_atoms = sp.vstack(leaves).tocsr()
    t_atoms = (
        sp.vstack([t.rows for t in targets]).tocsr() if targets else sp.csr_matrix((0, n_atoms))
    )
    m = sp.vstack(
        [
            sp.hstack(
                [sp.block_diag(rels), sp.csr_matrix((sum(x.shape[0] for x in rels), n_atoms + n_t))]
            ),
            sp.hstack([leaf_cells, -leaf_atoms, sp.csr_matrix((n_leaf, n_t))]),
            sp.hstack([sp.csr_matrix((n_t, n_cells)), -t_atoms, sp.identity(n_t)]),
        ]
    ).tocsr()
    cell_values = np.concatenate(values)
    t_values = np.array([t.value for t in targets])
    all_values = np.concatenate([cell_values, atom_values, t_values])
    cell_hidden = np.concatenate(hidden)
    pub_low = np.concatenate([np.concatenate(low), atom_values, t_values])
    pub_high = np.concatenate([np.concatenate(high), atom_values, t_values])
    # a published zero says every atom under it is empty: those atoms are known
    known_zero = np.asarray(leaf_atoms[np.concatenate(zero_leaf)].sum(axis=0)).ravel() > 0
    used = (np.asarray(abs(leaf_atoms).sum(axis=0)).ravel() > 0) | (
        np.asarray(abs(t_atoms).sum(axis=0)).ravel() > 0
    )
    atom_hidden = used & ~known_zero
    all_hidden = np.concatenate([cell_hidden, atom_hidden, np.ones(n_t, bool)])
    all_up = np.concatenate([np.concatenate(up), np.zeros(n_atoms), np.zeros(n_t)])
    # a difference group must be able to be empty: down to zero
    all_lo = np.concatenate([np.concatenate(lo), np.zeros(n_atoms), t_values])
    # what an earlier round of the same audit certified still holds: the new table only hides
    # more from one round to the next (against_history.py), and hiding never helps the attacker
    settled = None if memo is None else memo.get(f"settled {name} {members}")
    if settled is not None and settled.size != all_values.size:
        settled = None
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
        witnessed_up=settled,
        witnessed_down=settled,
    )
    if memo is not None:
        need = all_hidden & ((all_up > 0) | (all_lo > 0))
        memo[f"settled {name} {members}"] = need & ~chk.violated
    out = []
    iv = chk.intervals
    new_cols = np.zeros(all_values.size, dtype=bool)
    if 0 in members:
        i = members.index(0)
        new_cols[starts[i] : starts[i + 1]] = True
    violated = np.flatnonzero(chk.violated)
    lp = _LP(m, all_values, all_hidden, lower, pub_low, pub_high) if violated.size else None
    for j in violated:
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
        with_new, reduced = lp.bound(j, upward)
        without_new, _ = lp.bound(j, upward, free=new_cols & ~all_hidden)
        if (upward and without_new <= with_new + 1e-6) or (
            not upward and without_new >= with_new - 1e-6
        ):
            # the earlier releases say as much on their own: not this table's doing
            f["severity"] = "warning"
            f["detail"] += " (the earlier releases say so on their own)"
        elif reduced is not None:
            shown = np.flatnonzero(new_cols & ~all_hidden)
            binding = shown[np.abs(reduced[shown]) > 1e-7]
            f["hide"] = [int(x - starts[members.index(0)]) for x in binding]
            f["need"] = float(max(need, recs[0].meta["rules"]["protection_min"]))
        out.append(f)
    return out


class _LP:
    """The linked LP once more, for single bounds, warm-started (one model per set of what the
    attacker is told): with the reduced costs of the published cells (which of them hold the
    bound where it is), or with some of them set free (what the rest says on its own)."""

    def __init__(self, m, values, hidden, lower, pub_low, pub_high) -> None:
        self.scale = max(1.0, float(np.abs(values).max()) / 1e3) if values.size else 1.0
        lower = np.broadcast_to(np.asarray(lower, float), values.shape)
        self.low = np.where(hidden, lower, pub_low) / self.scale
        self.high = np.where(hidden, np.inf, pub_high) / self.scale
        self.free_low = lower / self.scale
        self.a = m.tocsc()
        self.models: dict[bytes, tuple[highspy.Highs, list[int]]] = {}

    def _model(self, free: np.ndarray | None) -> tuple[highspy.Highs, list[int]]:
        key = b"" if free is None else np.packbits(free).tobytes()
        if key not in self.models:
            low, high = self.low.copy(), self.high.copy()
            if free is not None:
                low[free], high[free] = self.free_low[free], np.inf
            a = self.a
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("presolve", "off")
            h.setOptionValue("simplex_strategy", 4)  # primal: a cost change keeps it feasible
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
            lp.col_cost_ = np.zeros(a.shape[1])
            lp.col_lower_ = np.where(np.isinf(low), -highspy.kHighsInf, low)
            lp.col_upper_ = np.where(np.isinf(high), highspy.kHighsInf, high)
            lp.row_lower_ = np.zeros(a.shape[0])
            lp.row_upper_ = np.zeros(a.shape[0])
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = a.indptr.astype(np.int32)
            lp.a_matrix_.index_ = a.indices.astype(np.int32)
            lp.a_matrix_.value_ = a.data.astype(float)
            h.passModel(lp)
            self.models[key] = (h, [-1])
        return self.models[key]

    def bound(
        self, j: int, maximise: bool, free: np.ndarray | None = None
    ) -> tuple[float, np.ndarray | None]:
        """The attacker's bound on column j, and the reduced cost of every column (None when
        unbounded). `free`: columns whose published value the attacker is not told."""
        h, last = self._model(free)
        if last[0] >= 0:
            h.changeColCost(last[0], 0.0)
        h.changeColCost(int(j), -1.0 if maximise else 1.0)
        last[0] = int(j)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return (np.inf if maximise else -np.inf), None  # unbounded: no claim
        sol = h.getSolution()
        return float(np.asarray(sol.col_value)[j]) * self.scale, np.asarray(sol.col_dual)


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


def _too_large(e: TooLarge, name: str) -> dict:
    return _finding(
        "error",
        "linked",
        "(all cells)",
        f"the linked releases are too large to audit together ({e}); coarsen or split",
        name,
    )


def _component(
    usable: list[Record], new: int, memo: dict | None
) -> tuple[list[Record], Persons | None]:
    """The records linked to usable[new] (it first) and, when they are all of `usable` in the
    same order, their dense persons (else None: build_space finds them). Kept in `memo` while
    the records are the same (successive versions of one new table share its persons)."""
    key = ("component", id(usable[new].members), tuple(str(r.path) for r in usable))
    if memo is not None and memo.get("component", (None,))[0] == key:
        index, persons = memo["component"][1:]
    else:
        persons = persons_of(usable)
        index = linked_component(usable, new, persons)
        index.sort(key=lambda i: i != new)  # the new table first
        if index != list(range(len(usable))):
            persons = None
        if memo is not None:
            memo["component"] = (key, index, persons)
    return [usable[i] for i in index], persons


def audit_linked(records: list[Record], new: int, memo: dict | None = None) -> list[dict]:
    """Findings of record `new` audited with every record that shares persons with it.

    `memo`: kept between audits of successive versions of the same new table, each hiding at
    least what the one before hid (its persons, the space of unknowns and what was certified
    are reused)."""
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
    try:
        comp, persons = _component(usable, ok.index(new), memo)
    except TooLarge as e:
        return findings + [_too_large(e, records[new].name)]
    if len(comp) < 2:
        return findings
    key = (id(comp[0].members), tuple(str(r.path) for r in comp[1:]))
    if memo is not None and memo.get("key") != key:
        kept = memo.get("component")  # _component's, for these very records
        memo.clear()
        memo["key"] = key
        if kept is not None:
            memo["component"] = kept
    try:
        if memo is not None and "space" in memo:
            space = memo["space"]
        else:
            space = build_space(comp, persons)
            if memo is not None:
                memo["space"] = space
    except TooLarge as e:
        return findings + [_too_large(e, comp[0].name)]
    space.records = comp  # the same persons and cells; this version's published pattern
    counts = space.atom_counts()
    if memo is not None and "targets" in memo:
        targets = memo["targets"]
    else:
        targets = _differences(space, counts)
        if memo is not None:
            memo["targets"] = targets
    findings += _system(space, list(range(len(comp))), "count", counts, 0.0, targets, memo)
    for group in _totals_groups(space):
        s = _person_values(space, group, space.per)
        if s is None or len(group) < 2:
            continue  # a single magnitude table: its own audit covered its totals
        s = np.nan_to_num(s)
        totals = np.bincount(space.atom_of, weights=s, minlength=space.n_atoms)
        lower = 0.0 if s.min() >= 0 else -np.inf
        findings += _system(space, group, "total", totals, lower, [], memo)
    return findings
