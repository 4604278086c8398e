"""The attacker's unknowns over several releases: persons per (population piece x finest cell).

Populations are taken for what they are, the persons each release covers, never their labels:
a *piece* is a set of persons that lie in exactly the same releases (everybody, everybody but a
small group, the group itself...). Dimensions are taken for what they are too: two dimensions
of different releases are one *variable* when every person they share has the same code in
both; one is a *recode* of another (region of province, a coarser age class) when, over the
persons they share, each code of the finer maps to one code of the coarser, or when a release
declares that mapping as a hierarchy level named after the other dimension. Variables linked by
recodes form a *family*.

Within a piece, the attacker's unknowns are the persons in every combination of codes of the
variables that piece's releases use which their recodes allow (the finest common table of those
releases): the `atoms`. Every published cell of every release is a sum of atoms, whatever the
statistic of its table. A recode is only trusted over the persons it was seen on: it links the
variables of a piece whose persons have both, never through a variable they lack (months of
unemployment say something about job-seekers only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kluis.disclosure.persons import Persons, TooLarge, persons_of
from kluis.disclosure.record import Record

#: more unknowns than this and the linked audit refuses rather than run for hours
MAX_ATOMS = 2_000_000


@dataclass
class Variable:
    name: str
    codes: tuple[str, ...]
    values: np.ndarray  # per profile: code index, -1 when unknown (not in a release using it)


@dataclass
class Space:
    """The linked releases' persons, pieces, variables, families and atoms. Persons are
    grouped into profiles (persons.py); pieces, variables and atoms are worked out per
    profile."""

    records: list[Record]
    per: list[np.ndarray]  # per release: the dense index of each of its members
    n_persons: int
    profile_of: np.ndarray  # per person
    profile_count: np.ndarray  # persons per profile
    piece_of: np.ndarray  # per profile
    covers: np.ndarray  # (n_pieces, n_releases) bool: which releases contain the piece
    variables: list[Variable]
    var_of: dict[tuple[int, int], int]  # (release, dim) -> variable
    maps: dict[tuple[int, int], np.ndarray]  # (x, y) -> code of y per code of x (-1 unknown)
    family_of: list[int]  # per variable
    filters: list[tuple[int, int, np.ndarray]] = field(default_factory=list)
    piece_combos: dict[tuple[int, int], pd.DataFrame] = field(default_factory=dict)
    piece_families: list[list[int]] = field(default_factory=list)
    atom_offset: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    profile_atom: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    atom_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per person

    @property
    def n_atoms(self) -> int:
        return int(self.atom_offset[-1])

    def atom_counts(self) -> np.ndarray:
        """Persons per atom."""
        return np.bincount(
            self.profile_atom, weights=self.profile_count, minlength=self.n_atoms
        ).astype(float)

    def piece_shape(self, p: int) -> tuple[int, ...]:
        return tuple(len(self.piece_combos[(p, f)]) for f in self.piece_families[p])


def _union_find(n: int, edges) -> np.ndarray:
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(a) for a in range(n)])


def linked_component(
    records: list[Record], start: int = 0, persons: Persons | None = None
) -> list[int]:
    """The records that share persons with record `start`, directly or through others
    (`persons`: theirs, when already known)."""
    persons = persons if persons is not None else persons_of(records)
    edges = []
    for row in np.unique(persons.profiles.members, axis=0):
        members = np.flatnonzero(row).tolist()
        if members:
            edges += [(members[0], m) for m in members[1:]]
    root = _union_find(len(records), edges)
    return [i for i in range(len(records)) if root[i] == root[start]]


def _variables(
    records: list[Record], cells: np.ndarray
) -> tuple[list[Variable], dict[tuple[int, int], int]]:
    """One variable per distinct (name, codes) whose persons agree; a dimension that disagrees
    with an earlier one of the same name and codes (another year's province) is its own.
    `cells`: the profiles' leaf cell in each record (persons.py)."""
    variables: list[Variable] = []
    var_of: dict[tuple[int, int], int] = {}
    for r, rec in enumerate(records):
        mine = np.flatnonzero(cells[:, r] >= 0)
        coords = rec.structure.coords()[cells[mine, r]]
        for k, d in enumerate(rec.structure.dims):
            codes = coords[:, k].astype(np.int32)
            for v, var in enumerate(variables):
                if var.name != d.name or var.codes != d.codes:
                    continue
                have = var.values[mine]
                if np.all((have < 0) | (have == codes)):
                    var.values[mine] = codes
                    var_of[(r, k)] = v
                    break
            else:
                values = np.full(cells.shape[0], -1, dtype=np.int32)
                values[mine] = codes
                variables.append(Variable(d.name, d.codes, values))
                var_of[(r, k)] = len(variables) - 1
    return variables, var_of


def _maps(
    records: list[Record], variables: list[Variable], var_of: dict[tuple[int, int], int]
) -> dict[tuple[int, int], np.ndarray]:
    """Recodes between variables: y = f(x) over every person both are known for (f unknown
    for codes of x nobody shares), completed by hierarchy levels a release declares."""
    maps: dict[tuple[int, int], np.ndarray] = {}
    for a, b in itertools.permutations(range(len(variables)), 2):
        x, y = variables[a], variables[b]
        both = (x.values >= 0) & (y.values >= 0)
        if not both.any():
            continue
        n_y = len(y.codes)
        seen = np.bincount(
            x.values[both].astype(np.int64) * n_y + y.values[both], minlength=len(x.codes) * n_y
        ).reshape(len(x.codes), n_y)
        if ((seen > 0).sum(axis=1) > 1).any():
            continue  # some x has persons in two y: not a recode
        f = np.where(seen.any(axis=1), seen.argmax(axis=1), -1).astype(np.int64)
        maps[(a, b)] = f
    # declared hierarchy levels named after another variable: complete the map
    for (r, k), a in var_of.items():
        d = records[r].structure.dims[k]
        if not d.levels:
            continue
        name, mapping = d.levels[0]
        parent = dict(mapping)
        for b, y in enumerate(variables):
            if b == a or y.name != name:
                continue
            index = {c: i for i, c in enumerate(y.codes)}
            declared = np.array([index.get(parent.get(c, ""), -1) for c in d.codes])
            f = maps.get((a, b))
            if f is None and np.any((variables[a].values >= 0) & (y.values >= 0)):
                continue  # the data say it is not a recode: believe the data
            if f is not None and np.any((f >= 0) & (declared >= 0) & (f != declared)):
                continue
            maps[(a, b)] = declared if f is None else np.where(f >= 0, f, declared)
    return maps


def _pairs(x: int, y: int, variables: list[Variable], maps) -> pd.DataFrame:
    """(code of x, code of y) pairs the recode between x and y allows; a code whose image is
    unknown (nobody shares it) may go with any code of the other."""
    if (x, y) not in maps:
        flipped = _pairs(y, x, variables, maps)
        return flipped[[x, y]]
    f = maps[(x, y)]
    n_x, n_y = len(variables[x].codes), len(variables[y].codes)
    known = np.flatnonzero(f >= 0)
    lost = np.flatnonzero(f < 0)
    xs = np.concatenate([known, np.repeat(lost, n_y)])
    ys = np.concatenate([f[known], np.tile(np.arange(n_y), lost.size)])
    assert xs.size == ys.size and (n_x > 0 or xs.size == 0)
    return pd.DataFrame({x: xs, y: ys})


def _combos(known: list[int], variables: list[Variable], maps) -> pd.DataFrame:
    """Every combination of codes of the variables `known` that the recodes among them allow;
    variables no recode links are crossed."""
    start = max(known, key=lambda v: len(variables[v].codes))
    df = pd.DataFrame({start: np.arange(len(variables[start].codes))})
    todo = [v for v in known if v != start]
    while todo:
        step = next(
            ((x, y) for y in todo for x in df.columns if (x, y) in maps or (y, x) in maps),
            None,
        )
        if step is None:
            y = todo[0]
            df = df.merge(pd.DataFrame({y: np.arange(len(variables[y].codes))}), how="cross")
        else:
            x, y = step
            df = df.merge(_pairs(x, y, variables, maps), on=x)
        todo.remove(y)
        if len(df) > MAX_ATOMS:
            raise TooLarge(f"{len(df):,} combinations of codes in one family")
    return df[sorted(df.columns)].reset_index(drop=True)


def build_space(records: list[Record], persons: Persons | None = None) -> Space:
    """Persons, pieces, variables, families and atoms of records that share persons
    (`persons`: theirs, when already known)."""
    persons = persons if persons is not None else persons_of(records)
    per, n, prof = persons.per, persons.n, persons.profiles
    member = prof.members
    words = np.zeros((member.shape[0], (len(records) + 62) // 63), dtype=np.int64)
    for i in range(len(records)):
        words[member[:, i], i // 63] |= np.int64(1) << np.int64(i % 63)
    sig, piece_of = np.unique(words, axis=0, return_inverse=True)
    piece_of = piece_of.ravel()
    covers = np.array(
        [[(row[i // 63] >> (i % 63)) & 1 for i in range(len(records))] for row in sig], dtype=bool
    ).reshape(len(sig), len(records))
    variables, var_of = _variables(records, prof.cells)
    maps = _maps(records, variables, var_of)
    family_of = list(_union_find(len(variables), [e for e in maps]))
    families = sorted(set(family_of))
    family_of = [families.index(f) for f in family_of]
    space = Space(
        records, per, n, prof.of, prof.count, piece_of, covers, variables, var_of, maps, family_of
    )
    space.filters = _filters(member, variables)
    _atoms(space)
    return space


def _filters(member: np.ndarray, variables: list[Variable]) -> list[tuple[int, int, np.ndarray]]:
    """Releases whose population is a set of codes of a variable (women: sex F; job-seekers:
    socio-economic group 1): (release, variable, codes) when everybody with one of those codes
    is in the release and nobody else. The attacker who knows the filter knows this, and it
    keeps the unknowns of each piece to the codes it can have."""
    out = []
    for r in range(member.shape[1]):
        idx = np.flatnonzero(member[:, r])
        for v, var in enumerate(variables):
            mine = var.values[idx]
            if (mine < 0).any():
                continue
            codes = np.zeros(len(var.codes), dtype=bool)
            codes[np.unique(mine)] = True
            if codes.all():
                continue  # every code: says nothing
            inside = (var.values >= 0) & codes[np.maximum(var.values, 0)]
            if np.array_equal(inside, member[:, r]):
                out.append((r, v, codes))
    return out


def _atoms(space: Space) -> None:
    """Per piece, the finest codes of each family its releases use, and the atom of every
    person."""
    n_pieces = space.covers.shape[0]
    offsets = [0]
    space.piece_families = []
    for p in range(n_pieces):
        known = {v for (r, _), v in space.var_of.items() if space.covers[p, r]}
        fams = sorted({space.family_of[v] for v in known})
        space.piece_families.append(fams)
        size = 1
        for f in fams:
            mine = sorted(v for v in known if space.family_of[v] == f)
            pc = _combos(mine, space.variables, space.maps)
            keep = np.ones(len(pc), dtype=bool)
            for r, v, codes in space.filters:
                if v in pc.columns:  # in the release: its codes; not in it: the others
                    inside = codes[pc[v].to_numpy()]
                    keep &= inside if space.covers[p, r] else ~inside
            pc = pc[keep].reset_index(drop=True)
            space.piece_combos[(p, f)] = pc
            size *= len(pc)
        offsets.append(offsets[-1] + size)
        if offsets[-1] > MAX_ATOMS:
            raise TooLarge(f"more than {MAX_ATOMS:,} unknowns")
    space.atom_offset = np.array(offsets, dtype=np.int64)
    atom_of = np.zeros(space.piece_of.size, dtype=np.int64)
    for p in range(n_pieces):
        who = np.flatnonzero(space.piece_of == p)
        index = np.zeros(who.size, dtype=np.int64)
        for f in space.piece_families[p]:
            pc = space.piece_combos[(p, f)]
            index = index * len(pc) + _combo_index(pc, space.variables, who)
        atom_of[who] = space.atom_offset[p] + index
    space.profile_atom = atom_of
    space.atom_of = atom_of[space.profile_of]


def _combo_index(pc: pd.DataFrame, variables: list[Variable], who: np.ndarray) -> np.ndarray:
    """Row of `pc` holding each person's codes."""
    sizes = [len(variables[v].codes) for v in pc.columns]
    keys = np.ravel_multi_index(tuple(pc[v].to_numpy() for v in pc.columns), sizes)
    mine = np.ravel_multi_index(tuple(variables[v].values[who] for v in pc.columns), sizes)
    order = np.argsort(keys)
    pos = order[np.searchsorted(keys, mine, sorter=order)]
    return pos.astype(np.int64)


def atom_codes(space: Space, p: int, variable: int) -> np.ndarray | None:
    """The code of `variable` in every atom of piece `p`, or None when the piece's atoms do not
    determine it (its persons are in no release using it, and no recode of a variable they
    have gives it)."""
    fams = space.piece_families[p]
    f = space.family_of[variable]
    shape = space.piece_shape(p)
    if f not in fams:
        return None
    pc = space.piece_combos[(p, f)]
    if variable in pc.columns:
        per_combo = pc[variable].to_numpy()
    else:  # a recode of a variable the piece has, known for every code it has
        per_combo = None
        for x in pc.columns:
            f_xy = space.maps.get((x, variable))
            if f_xy is not None and (f_xy[pc[x].to_numpy()] >= 0).all():
                per_combo = f_xy[pc[x].to_numpy()]
                break
        if per_combo is None:
            return None
    j = fams.index(f)
    index = np.indices(shape).reshape(len(shape), -1)[j] if shape else np.zeros(1, np.int64)
    return per_combo[index]
