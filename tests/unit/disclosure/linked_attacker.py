"""An attacker over several published tables, written from scratch with scipy's linprog.

It shares no code with kluis.disclosure. The attacker knows the microdata's *structure* (which
variables exist, their codes, how each published dimension groups them, which populations the
releases cover and so which population pieces exist) but not the counts; the unknowns are the
number of persons in every (population piece x combination of the finest codes), each >= 0.
Every published count is an equation. The attacker then asks, for any group of persons, how
small and how large its size can be: a hidden cell of a release, or the persons one release has
and another has not in a cell (differencing).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

TOTAL = "Total"


@dataclass
class Dim:
    """A published dimension: the frame column, the finest variable it is made of, and which
    finest codes each published (level, code) covers."""

    column: str
    variable: str
    groups: dict[tuple[str, str], set[str]]


def plain(column: str, codes: list[str], variable: str | None = None) -> Dim:
    return Dim(column, variable or column, {("code", c): {c} for c in codes})


def recoded(column: str, variable: str, mapping: dict[str, str]) -> Dim:
    """A dimension whose codes are a recode (a coarser grouping) of a finest variable."""
    groups: dict[tuple[str, str], set[str]] = {}
    for fine, coarse in mapping.items():
        groups.setdefault(("code", coarse), set()).add(fine)
    return Dim(column, variable, groups)


def with_level(dim: Dim, level: str, mapping: dict[str, str]) -> Dim:
    """Add a hierarchy level (leaf code -> parent) above the leaves of `dim`."""
    groups = dict(dim.groups)
    for (lvl, code), fine in dim.groups.items():
        if lvl == "code":
            groups.setdefault((level, mapping[code]), set()).update(fine)
    return Dim(dim.column, dim.variable, groups)


@dataclass
class Release:
    """What one release published: its population (person ids) and its public frame."""

    name: str
    persons: set
    dims: list[Dim]
    frame: pd.DataFrame  # columns: dims (+ <dim>_level), persons (NaN when hidden)
    min_frequency: int = 10


@dataclass
class Query:
    name: str
    pieces: np.ndarray  # bool per piece
    cell: dict[str, set[str]]  # variable -> finest codes (absent: all)
    truth: float
    kind: str = "hidden cell"
    release: str = ""


@dataclass
class Attacker:
    micro: pd.DataFrame  # one row per person: person id + finest variables
    person: str
    variables: dict[str, list[str]]
    releases: list[Release]
    pieces: np.ndarray = field(init=False)  # (n_pieces, n_releases) bool
    piece_of: np.ndarray = field(init=False)  # per microdata row
    combos: list[tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        ids = self.micro[self.person].to_numpy()
        member = np.column_stack([np.isin(ids, list(r.persons)) for r in self.releases])
        self.pieces, self.piece_of = np.unique(member, axis=0, return_inverse=True)
        self.piece_of = self.piece_of.ravel()
        self.combos = list(itertools.product(*self.variables.values()))
        self._names = list(self.variables)

    # --- the equations -------------------------------------------------------------------
    def _atom_mask(self, pieces: np.ndarray, cell: dict[str, set[str]]) -> np.ndarray:
        ok_combo = np.ones(len(self.combos), dtype=bool)
        for k, name in enumerate(self._names):
            if name in cell:
                ok_combo &= np.array([c[k] in cell[name] for c in self.combos])
        return (pieces[:, None] & ok_combo[None, :]).ravel()

    def _cell(self, rel: Release, row: pd.Series) -> dict[str, set[str]]:
        cell: dict[str, set[str]] = {}
        for d in rel.dims:
            code = str(row[d.column])
            level = str(row.get(f"{d.column}_level", "code"))
            if code == TOTAL or level == TOTAL:
                continue
            fine = d.groups[(level, code)]
            cell[d.variable] = cell.get(d.variable, set(self.variables[d.variable])) & fine
        return cell

    def equations(self) -> tuple[np.ndarray, np.ndarray]:
        rows, rhs = [], []
        for r, rel in enumerate(self.releases):
            pieces = self.pieces[:, r]
            for _, row in rel.frame.iterrows():
                if pd.isna(row["persons"]):
                    continue
                rows.append(self._atom_mask(pieces, self._cell(rel, row)).astype(float))
                rhs.append(float(row["persons"]))
        return np.array(rows), np.array(rhs)

    def truth(self, pieces: np.ndarray, cell: dict[str, set[str]]) -> float:
        ok = pieces[self.piece_of]
        for name, codes in cell.items():
            ok &= self.micro[name].astype(str).isin(codes).to_numpy()
        return float(ok.sum())

    # --- what to ask ---------------------------------------------------------------------
    def hidden_cells(self) -> list[Query]:
        out = []
        for r, rel in enumerate(self.releases):
            for _, row in rel.frame.iterrows():
                if not pd.isna(row["persons"]):
                    continue
                cell = self._cell(rel, row)
                pieces = self.pieces[:, r]
                name = f"{rel.name}: " + ", ".join(f"{d.column}={row[d.column]}" for d in rel.dims)
                out.append(Query(name, pieces, cell, self.truth(pieces, cell), release=rel.name))
        return out

    def differences(self) -> list[Query]:
        """Persons in release a and not in b, in every cell of a and of b."""
        out = []
        for a, b in itertools.permutations(range(len(self.releases)), 2):
            pieces = self.pieces[:, a] & ~self.pieces[:, b]
            if not pieces.any():
                continue
            for rel in (self.releases[a], self.releases[b]):
                seen = set()
                for _, row in rel.frame.iterrows():
                    cell = self._cell(rel, row)
                    key = tuple(sorted((k, tuple(sorted(v))) for k, v in cell.items()))
                    if key in seen:
                        continue
                    seen.add(key)
                    name = f"{self.releases[a].name} minus {self.releases[b].name}: " + ", ".join(
                        f"{k}={sorted(v)}" for k, v in cell.items()
                    )
                    out.append(Query(name, pieces, cell, self.truth(pieces, cell), "difference"))
        return out

    # --- solving -------------------------------------------------------------------------
    def interval(self, q: Query, eqs: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
        a, b = eqs
        c = self._atom_mask(q.pieces, q.cell).astype(float)
        kw = {"A_eq": a, "b_eq": b} if len(a) else {}
        lo = linprog(c, bounds=(0, None), method="highs", **kw)
        hi = linprog(-c, bounds=(0, None), method="highs", **kw)
        assert lo.status == 0, lo.message  # the true table is always feasible
        upper = np.inf if hi.status == 3 else -hi.fun
        return float(lo.fun), float(upper)

    def disclosures(
        self, queries: list[Query], disclosed: Callable[[Query, float, float], bool]
    ) -> list[tuple[str, float, tuple[float, float]]]:
        eqs = self.equations()
        out = []
        for q in queries:
            lo, hi = self.interval(q, eqs)
            if disclosed(q, lo, hi):
                out.append((q.name, q.truth, (round(lo, 6), round(hi, 6))))
        return out


def below_protection(n: int, ratio: float = 0.15) -> Callable[[Query, float, float], bool]:
    """A small group (1..n-1 persons) the attacker narrows more than the rules allow: the
    interval must reach value + max(n, ratio*value) upwards and max(0, value - that) down."""

    def check(q: Query, lo: float, hi: float) -> bool:
        v = q.truth
        if not 1 <= v <= n - 1:
            return False
        p = max(n, ratio * v)
        return hi < v + p - 1e-6 or lo > max(0.0, v - p) + 1e-6

    return check


def pinned_small(n: int) -> Callable[[Query, float, float], bool]:
    """A group the attacker knows to hold between 1 and n-1 persons."""

    def check(q: Query, lo: float, hi: float) -> bool:
        return 1 <= q.truth <= n - 1 and lo >= 1 - 1e-6 and hi <= n - 1 + 1e-6

    return check
