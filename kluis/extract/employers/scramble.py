"""Data swapping within strata: the scrambling of the development fragment (deliberation 24/074).

WHY: the researchers receive a development fragment in their own offices. The deliberation asks
that it be "gescrambled": some attributes of one person are given to another, so that no record
shows a real person's combination, while the data stay realistic enough to write analysis code.

Method (random swapping, Dalenius & Reiss): records are grouped in strata; in each stratum a
random subset of about `rate` of the records is selected and the values of the swap variables are
rotated among the selected records along one random cycle (a derangement), as one block. Because
the rotation permutes values within a stratum, every stratum keeps exactly the same multiset of
swapped values: the marginal distributions (overall and per stratum) are unchanged, only the links
between swapped and unswapped variables are broken for the selected records.

Everything is vectorised in NumPy; records are addressed by row index, values moved with Arrow
`take`, so any column type can be swapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class SwapResult:
    """A swapped table and what happened to each record (row order of the input is kept)."""

    table: pa.Table
    donor: np.ndarray  # donor[i] = row whose swap-variable values record i now carries
    selected: np.ndarray  # bool: record i took part in a swap
    changed: np.ndarray  # bool: record i's swap-variable values differ from its own
    stratum: np.ndarray  # int stratum id per record
    singleton: np.ndarray  # bool: record i is alone in its stratum (cannot be swapped)

    @property
    def share_selected(self) -> float:
        return float(self.selected.mean()) if len(self.selected) else 0.0

    @property
    def share_changed(self) -> float:
        return float(self.changed.mean()) if len(self.changed) else 0.0


def codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Integer codes of a column's values (equal values get equal codes; null gets -1)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if len(column) == 0:
        return np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(column)
    return encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def stratum_ids(table: pa.Table, strata: Sequence[str]) -> np.ndarray:
    """A dense integer id per record for the combination of its strata values (0 when no strata)."""
    n = table.num_rows
    if not strata:
        return np.zeros(n, dtype=np.int64)
    stacked = np.column_stack([codes(table.column(name)) for name in strata])
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _swap_counts(sizes: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """How many records to select per stratum: `rate * size`, rounded at random so the expected
    total is exactly `rate * n`; a count of 1 (a swap needs two) becomes 2 or 0 with equal
    probability, which keeps the expectation."""
    raw = rate * sizes
    k = np.floor(raw + rng.random(len(sizes))).astype(np.int64)
    ones = k == 1
    k[ones] = np.where(rng.random(int(ones.sum())) < 0.5, 2, 0)
    return np.minimum(k, np.where(sizes >= 2, sizes, 0))


def swap_indices(
    stratum: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The donor of each record and which records were selected.

    Within each stratum the selected records are put in random order and each takes the values
    of the next one, the last taking the first's: one cycle, so nobody keeps their own values and
    the stratum's values are only permuted.
    """
    n = len(stratum)
    donor = np.arange(n, dtype=np.int64)
    selected = np.zeros(n, dtype=bool)
    if n == 0 or rate <= 0:
        return donor, selected
    sizes = np.bincount(stratum)
    k = _swap_counts(sizes, rate, rng)
    # Random order within each stratum: sort by (stratum, random key).
    order = np.lexsort((rng.random(n), stratum))
    sorted_stratum = stratum[order]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(n) - starts[sorted_stratum]
    chosen = order[rank < k[sorted_stratum]]  # grouped by stratum, random order inside
    if len(chosen) == 0:
        return donor, selected
    chosen_stratum = stratum[chosen]
    # Next record in the same stratum's cycle: shift by one, wrapping at each group's end.
    nxt = np.roll(chosen, -1)
    group_start = np.r_[True, chosen_stratum[1:] != chosen_stratum[:-1]]
    group_end = np.r_[chosen_stratum[1:] != chosen_stratum[:-1], True]
    first_of_group = chosen[np.maximum.accumulate(np.where(group_start, np.arange(len(chosen)), 0))]
    nxt = np.where(group_end, first_of_group, nxt)
    donor[chosen] = nxt
    selected[chosen] = True
    return donor, selected


def swap(
    table: pa.Table,
    variables: Sequence[str],
    strata: Sequence[str] = (),
    rate: float = 0.1,
    seed: int = 0,
) -> SwapResult:
    """Swap the block of `variables` between records of the same stratum at about `rate`.

    Deterministic for a given table order and seed.
    """
    if not variables:
        raise ValueError("swap: no swap variables given")
    if not 0 <= rate <= 1:
        raise ValueError(f"swap: rate must be between 0 and 1, got {rate}")
    missing = [v for v in (*variables, *strata) if v not in table.column_names]
    if missing:
        raise KeyError(f"swap: columns {missing} not in the records ({table.column_names})")
    overlap = set(variables) & set(strata)
    if overlap:
        raise ValueError(f"swap: {sorted(overlap)} cannot be both swapped and a stratum")
    rng = np.random.default_rng(seed)
    stratum = stratum_ids(table, strata)
    donor, selected = swap_indices(stratum, rate, rng)
    take = pa.array(donor)
    swapped = table
    changed = np.zeros(table.num_rows, dtype=bool)
    for name in variables:
        column = table.column(name)
        col_codes = codes(column)
        changed |= col_codes != col_codes[donor]
        idx = table.schema.get_field_index(name)
        swapped = swapped.set_column(idx, table.schema.field(name), column.take(take))
    sizes = np.bincount(stratum) if len(stratum) else np.zeros(0, dtype=np.int64)
    singleton = sizes[stratum] == 1 if len(stratum) else np.zeros(0, dtype=bool)
    return SwapResult(
        table=swapped,
        donor=donor,
        selected=selected,
        changed=changed,
        stratum=stratum,
        singleton=singleton,
    )
