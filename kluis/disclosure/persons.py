"""The linked audit's only work per person, done once per audit and in linear time.

Several release records hold millions of persons each. Every later step of the audit (pieces,
variables, recodes, atoms: atoms.py) depends on a person only through their *profile*: which
leaf cell of each record they are in, or that they are in none. So the persons are numbered
densely once, grouped into profiles by hashing (no sort of millions of rows), and the rest of
the audit works on a few thousand profiles. Groups are numbered in the lexicographic order of
what they hold, so the same records always give the same numbering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # record.py uses this module
    from kluis.disclosure.record import Record

#: direct addressing of person numbers when their range is at most this many times the persons
_SPREAD = 4
_LIMIT = 2**62
#: bytes the audit holds per person-row of the linked records (the records themselves, the
#: dense indices, temporaries); half the machine's memory is the most one audit may take
_BYTES_PER_ROW = 48


def _memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


#: person-rows of all linked records together beyond which the audit refuses rather than run
#: the trusted side out of memory (24 GiB: about 36 tables of the whole population)
MAX_ROWS = _memory() // 2 // _BYTES_PER_ROW


class TooLarge(Exception):
    """The linked tables need more unknowns or memory than the audit can handle."""


def addressable(numbers: list[np.ndarray]) -> int | None:
    """The smallest of integer person numbers when their range is at most a few times their
    count (pseudonymised sequence numbers): then an array indexed by number minus it replaces a
    sort or a hash. None otherwise."""
    if not all(x.dtype.kind in "iu" for x in numbers):
        return None
    full = [x for x in numbers if x.size]
    if not full:
        return None
    lo = min(int(x.min()) for x in full)
    hi = max(int(x.max()) for x in full)
    return lo if hi - lo < _SPREAD * sum(x.size for x in full) + 1024 else None


def dense_persons(records: list[Record]) -> tuple[list[np.ndarray], int]:
    """Each record's persons as indices 0..n-1 over all records' persons, in the order of their
    numbers; and n. Pseudonymised sequence numbers are addressed directly (linear), other
    numbers (hashes of text ids) are sorted."""
    people = [r.members["person"].to_numpy(dtype=np.int64) for r in records]
    total = sum(p.size for p in people)
    if total == 0:
        return [np.zeros(0, np.int64) for _ in people], 0
    lo = addressable(people)
    if lo is not None:
        present = np.zeros(max(int(p.max()) for p in people if p.size) - lo + 1, dtype=bool)
        for p in people:
            present[p - lo] = True
        dense = np.cumsum(present, dtype=np.int64) - 1
        return [dense[p - lo] for p in people], int(dense[-1]) + 1
    uniq, inv = np.unique(np.concatenate(people), return_inverse=True)
    bounds = np.cumsum([0, *[p.size for p in people]])
    return [inv.ravel()[bounds[i] : bounds[i + 1]] for i in range(len(people))], int(uniq.size)


def all_distinct(numbers: np.ndarray) -> bool:
    """Whether no person number occurs twice (one row per person: then counting rows counts
    persons). Linear for sequence numbers, a hash otherwise."""
    numbers = np.asarray(numbers)
    if numbers.size < 2:
        return True
    lo = addressable([numbers])
    if lo is not None:
        return int(np.bincount((numbers - lo).astype(np.int64)).max()) <= 1
    return not pd.Series(numbers).duplicated().any()


def _factorize(key: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(key, sort=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def group_rows(n: int, columns: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple:
    """Group n persons by a row of small codes: column (idx, values, size) gives the persons
    `idx` the codes `values` (0..size-1) and every other person 'none'. Returns each person's
    group, numbered in the lexicographic order of the rows, and one person of each group."""
    key = np.zeros(n, dtype=np.int64)
    top = 1  # every key is below top
    for idx, values, size in columns:
        base = size + 1
        if top * base >= _LIMIT:
            key, top = _factorize(key)
        key *= base
        key[idx] += values.astype(np.int64) + 1
        top *= base
    group, count = _factorize(key)
    one = np.empty(count, dtype=np.int64)
    one[group] = np.arange(n, dtype=np.int64)
    return group, one


@dataclass
class Profiles:
    """Persons grouped by the leaf cell they are in in each record (-1: not in it)."""

    of: np.ndarray  # per person: its profile
    cells: np.ndarray  # (profiles, records): leaf cell, -1 when not in the record
    count: np.ndarray  # persons per profile

    @property
    def members(self) -> np.ndarray:
        """(profiles, records) bool: whether the profile's persons are in the record."""
        return self.cells >= 0


def _of_one(per: np.ndarray, values: np.ndarray, n: int, one: np.ndarray) -> np.ndarray:
    """`values` of the persons `one` in a record whose persons are `per` (-1: not in it)."""
    full = np.full(n, -1, dtype=np.int64)
    full[per] = values
    return full[one]


def profiles(records: list[Record], per: list[np.ndarray], n: int) -> Profiles:
    """The profiles of the n persons of `records` (per: their dense indices, dense_persons)."""
    cells = [r.members["cell"].to_numpy(dtype=np.int64) for r in records]
    sizes = [r.structure.n_cells for r in records]
    of, one = group_rows(n, list(zip(per, cells, sizes, strict=True)))
    table = np.stack(
        [_of_one(p, c, n, one) for p, c in zip(per, cells, strict=True)], axis=1
    ).reshape(one.size, len(records))
    return Profiles(of, table, np.bincount(of, minlength=one.size))


@dataclass
class Persons:
    """The persons of several records: each record's dense indices, how many, their profiles."""

    per: list[np.ndarray]
    n: int
    profiles: Profiles


def persons_of(records: list[Record]) -> Persons:
    """TooLarge when the records hold more person-rows together than MAX_ROWS."""
    rows = sum(len(r.members) for r in records)
    if rows > MAX_ROWS:
        raise TooLarge(
            f"{rows:,} person-rows in {len(records)} linked tables, more than the "
            f"{MAX_ROWS:,} this machine's memory allows"
        )
    per, n = dense_persons(records)
    return Persons(per, n, profiles(records, per, n))
