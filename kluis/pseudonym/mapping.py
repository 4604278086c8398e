"""Keyed hashes of identifiers: dense sequence numbers and permanent random numbers.

Neither DuckDB nor Spark has HMAC, and building one in SQL would put key material into query
text (and Spark's logs). So the map is computed here, once per extract, from the distinct
identifiers of the population, and joined in by the engine as a table.

- `sequence_map`: identifier -> 1..N, ordered by HMAC-SHA256(subkey, id). The order depends on
  nothing about the person, only on the key; the number is dense so it reveals nothing but N.
- `permanent_random_numbers`: identifier -> uniform [0, 1) from a differently derived key, for
  sampling that keeps the same persons in every year (a PRN sample).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from kluis.pseudonym.keystore import PseudonymKey

PERSON = "person-pseudonym"
EMPLOYER = "employer-pseudonym"
SAMPLE = "sample-prn"


def _as_array(ids: pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if not isinstance(ids, pa.Array):
        ids = pa.array(ids, type=pa.string())
    if ids.null_count:
        raise ValueError("identifiers to pseudonymise contain nulls")
    return ids.cast(pa.string())


def keyed_digests(ids: pa.Array | Sequence[str], subkey: bytes) -> np.ndarray:
    """HMAC-SHA256 of each identifier as an (n, 4) array of big-endian uint64 words.

    A pre-keyed hmac object is copied per id (the cheapest HMAC Python offers, ~0.7 µs/id)."""
    arr = _as_array(ids)
    base = hmac.new(subkey, digestmod=hashlib.sha256)

    def one(value: str) -> bytes:
        h = base.copy()
        h.update(value.encode())
        return h.digest()

    blob = b"".join(map(one, arr.to_pylist()))
    return np.frombuffer(blob, dtype=">u8").reshape(len(arr), 4)


def sequence_map(
    ids: pa.Array | Sequence[str],
    key: PseudonymKey,
    *,
    purpose: str = PERSON,
    id_name: str = "insz",
    seq_name: str = "seq",
) -> pa.Table:
    """Table (id_name: string, seq_name: int64) numbering the distinct `ids` 1..N by keyed hash.

    Raises on duplicate ids: numbering the same person twice would break the panel."""
    arr = _as_array(ids)
    d = keyed_digests(arr, key.subkey(purpose)).astype(np.uint64)
    order = np.argsort(d[:, 0], kind="stable")
    first = d[order, 0]
    if len(first) > 1 and bool((first[1:] == first[:-1]).any()):
        # A 64-bit tie: either a duplicate id or (about 1 in 10^6 national extracts) a genuine
        # collision. Order by the full digest; equal full digests mean equal ids.
        order = np.lexsort((d[:, 3], d[:, 2], d[:, 1], d[:, 0]))
        full = d[order]
        if bool((full[1:] == full[:-1]).all(axis=1).any()):
            raise ValueError("identifiers to pseudonymise are not distinct")
    seq = np.empty(len(arr), dtype=np.int64)
    seq[order] = np.arange(1, len(arr) + 1, dtype=np.int64)
    return pa.table({id_name: arr, seq_name: pa.array(seq, type=pa.int64())})


def permanent_random_numbers(ids: pa.Array | Sequence[str], key: PseudonymKey) -> np.ndarray:
    """A uniform number in [0, 1) per identifier, fixed for the project (53-bit precision)."""
    d = keyed_digests(ids, key.subkey(SAMPLE))
    return (d[:, 0] >> np.uint64(11)).astype(np.float64) * 2.0**-53
