"""Bins of one column: labels give their edges back, and the slices between two sets of edges."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.enclave import bins


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=8, unique=True))
def test_labels_give_the_edges_back(raw):
    edges = sorted(raw)
    labels = [
        bins.label(a, b, k == len(edges) - 2)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    assert len(set(labels)) == len(labels)  # no two bins share a label (1.0000001 vs 1.0000002)
    assert bins.edges_of(labels) == edges


def test_codes_that_are_not_bins():
    assert bins.edges_of(["1", "2"]) is None
    assert bins.edges_of(["[0, 1)", "[2, 3]"]) is None  # not contiguous


def test_a_slice_of_three_between_two_sets_of_edges():
    rng = np.random.default_rng(1)
    value = np.concatenate([rng.uniform(0, 50, 200), [50.2, 50.5, 50.7], rng.uniform(51, 100, 200)])
    pid = np.arange(len(value))
    assert bins.small_slices(pid, value, [0, 25, 51, 100], [0, 25, 50, 100], 10) == [(50, 51, 3)]
    # nested edges (one a coarsening of the other) are left to the linked audit
    assert bins.small_slices(pid, value, [0, 25, 50, 51, 100], [0, 25, 50, 100], 10) == []
    # a slice of many persons may be published
    assert bins.small_slices(pid, value, [0, 20, 100], [0, 25, 100], 10) == []
