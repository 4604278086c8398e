"""Keyed sequence numbers and permanent random numbers."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.pseudonym import (
    EMPLOYER,
    PERSON,
    PseudonymKey,
    keyed_digests,
    permanent_random_numbers,
    sequence_map,
)

KEY_A = PseudonymKey("26-104", bytes(range(32)))
KEY_B = PseudonymKey("24-074", bytes(range(1, 33)))
ids_strategy = st.sets(st.text(alphabet="0123456789", min_size=11, max_size=11), max_size=300)


def _as_dict(table: pa.Table) -> dict[str, int]:
    return dict(zip(table.column("insz").to_pylist(), table.column("seq").to_pylist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(ids_strategy)
def test_sequence_numbers_are_dense_and_independent_of_input_order(ids: set[str]) -> None:
    ids_list = sorted(ids)
    forward = _as_dict(sequence_map(ids_list, KEY_A))
    backward = _as_dict(sequence_map(list(reversed(ids_list)), KEY_A))
    assert sorted(forward.values()) == list(range(1, len(ids) + 1))
    assert forward == backward


@settings(max_examples=30, deadline=None)
@given(ids_strategy, ids_strategy)
def test_numbering_follows_the_keyed_hash_so_subsets_keep_relative_order(a, b) -> None:
    """Ordered by HMAC: whatever set is numbered, two persons keep the same relative order."""
    big, small = (
        _as_dict(sequence_map(sorted(a | b), KEY_A)),
        _as_dict(sequence_map(sorted(a), KEY_A)),
    )
    pairs = sorted(small, key=small.get)
    assert pairs == sorted(pairs, key=big.get)


def test_digest_is_hmac_sha256_of_the_id_with_the_purpose_subkey() -> None:
    ids = ["85073003328", "90022801234"]
    d = keyed_digests(ids, KEY_A.subkey(PERSON))
    for i, value in enumerate(ids):
        expected = hmac.new(KEY_A.subkey(PERSON), value.encode(), hashlib.sha256).digest()
        assert d[i].astype(">u8").tobytes() == expected


def test_order_is_unrelated_to_the_identifier() -> None:
    ids = [f"{i:011d}" for i in range(2000)]
    seq = _as_dict(sequence_map(ids, KEY_A))
    ranks = np.array([seq[i] for i in ids])
    rho = np.corrcoef(np.arange(len(ids)), ranks)[0, 1]
    assert abs(rho) < 0.1  # sorted ids do not get sorted numbers


def test_two_projects_cannot_be_linked_by_number() -> None:
    ids = [f"{i:011d}" for i in range(1000)]
    a, b = _as_dict(sequence_map(ids, KEY_A)), _as_dict(sequence_map(ids, KEY_B))
    same = sum(a[i] == b[i] for i in ids)
    assert same < 10  # a random permutation has ~1 fixed point
    e = _as_dict(sequence_map(ids, KEY_A, purpose=EMPLOYER))
    assert sum(a[i] == e[i] for i in ids) < 10


def test_duplicates_and_nulls_are_refused() -> None:
    with pytest.raises(ValueError, match="not distinct"):
        sequence_map(["1", "2", "1"], KEY_A)
    with pytest.raises(ValueError, match="nulls"):
        sequence_map(pa.array(["1", None]), KEY_A)


def test_empty_input_gives_empty_map() -> None:
    t = sequence_map(pa.array([], pa.string()), KEY_A)
    assert t.num_rows == 0 and t.schema.field("seq").type == pa.int64()


def test_permanent_random_numbers_are_fixed_uniform_and_keyed() -> None:
    ids = [f"{i:011d}" for i in range(20000)]
    p1 = permanent_random_numbers(ids, KEY_A)
    assert np.array_equal(p1, permanent_random_numbers(ids, KEY_A))
    assert p1.min() >= 0.0 and p1.max() < 1.0
    counts, _ = np.histogram(p1, bins=10, range=(0, 1))
    assert counts.min() > 1800 and counts.max() < 2200
    p2 = permanent_random_numbers(ids, KEY_B)
    assert abs(np.corrcoef(p1, p2)[0, 1]) < 0.05
    # the sample order is not the pseudonym order (different key derivation)
    seq = _as_dict(sequence_map(ids, KEY_A))
    assert abs(np.corrcoef(p1, [seq[i] for i in ids])[0, 1]) < 0.05
