"""Attack: two binnings of one column whose edges differ by one step. `[25, 51)` minus
`[25, 50)` is the number of persons in `[50, 51)`: three, in this data. The linked audit sees
two unrelated variables; the slice check (slices.py) sees one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.disclosure.against_history import protect_against_history
from kluis.disclosure.history import History
from kluis.disclosure.protect import protect
from kluis.disclosure.record import write_record
from kluis.disclosure.slices import bin_edges, bin_label
from kluis.disclosure.spec import DimensionSpec, TableSpec


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=2, max_size=8, unique=True))
def test_labels_give_the_edges_back(raw):
    edges = sorted(raw)
    labels = [
        bin_label(a, b, k == len(edges) - 2)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    assert len(set(labels)) == len(labels)  # no two bins share a label (1.0000001 vs 1.0000002)
    assert bin_edges(labels) == edges


def test_codes_that_are_not_bins():
    assert bin_edges(["1", "2"]) is None
    assert bin_edges(["[0, 1)", "[2, 3]"]) is None  # not contiguous


def _values() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    w = np.concatenate([rng.uniform(0, 50, 200), [50.2, 50.5, 50.7], rng.uniform(51, 100, 200)])
    return pd.DataFrame({"pid": np.arange(len(w)), "w": w})


def _histogram(df: pd.DataFrame, name: str, edges: list[float]):
    labels = [
        bin_label(a, b, k == len(edges) - 2)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    rows = pd.DataFrame(
        {"pid": df["pid"], "w": pd.cut(df["w"], edges, right=False, labels=labels).astype(str)}
    )
    spec = TableSpec(
        name=name, dimensions=[DimensionSpec(column="w", codes=labels)], person_id="pid"
    )
    return protect(rows, spec)


def _released(tmp_path: Path, history: History, pt) -> None:
    history.add_record(write_record(pt, tmp_path / "stage" / pt.spec.name))


def test_a_second_binning_one_step_apart_is_refused(tmp_path):
    df = _values()
    history = History(tmp_path / "history")
    first = _histogram(df, "h1", [0, 25, 50, 75, 100])
    assert first.ok and not first.hidden.any()
    _released(tmp_path, history, first)
    alone = _histogram(df, "h2", [0, 25, 51, 75, 100])
    assert alone.ok and not alone.hidden.any()  # safe on its own: every bin is large
    pub1, pub2 = first.public_frame()["persons"], alone.public_frame()["persons"]
    assert pub2[1] - pub1[1] == 3  # the attack: [25, 51) - [25, 50) = the three at [50, 51)
    second = protect_against_history(alone, history.audit)
    assert not second.ok
    assert any(f["kind"] == "slice" and f["release"] == "h1" for f in second.history_findings)
    # the release's own re-audit of a written record finds it too
    record = write_record(alone, tmp_path / "stage2" / "h2")
    assert any(f["kind"] == "slice" for f in history.audit_record(record))


def test_the_same_edges_or_a_coarsening_pass(tmp_path):
    df = _values()
    history = History(tmp_path / "history")
    _released(tmp_path, history, _histogram(df, "h1", [0, 25, 50, 75, 100]))
    for name, edges in (("same", [0, 25, 50, 75, 100]), ("coarser", [0, 50, 100])):
        pt = protect_against_history(_histogram(df, name, edges), history.audit)
        assert not [f for f in pt.history_findings if f["kind"] == "slice"], name
    # a slice of many persons may be published
    wide = protect_against_history(_histogram(df, "wide", [0, 20, 50, 100]), history.audit)
    assert not [f for f in wide.history_findings if f["kind"] == "slice"]


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(1, 99), min_size=1, max_size=4, unique=True),
    st.integers(0, 1000),
)
def test_what_passes_never_differences_to_a_small_slice(tmp_path_factory, cuts1, cuts2, seed):
    """Any two binnings over [0, 100]: if the second passes the audit against the first, no
    two of their bins meet in a slice (neither bin) of 1..9 persons, counted on the values."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"pid": np.arange(300), "w": rng.integers(0, 100, 300).astype(float)})
    tmp = tmp_path_factory.mktemp("h")
    history = History(tmp / "history")
    e1, e2 = [0.0, *sorted(map(float, cuts1)), 100.0], [0.0, *sorted(map(float, cuts2)), 100.0]
    first = _histogram(df, "h1", e1)
    _released(tmp, history, first)
    second = protect_against_history(_histogram(df, "h2", e2), history.audit)
    if any(f["kind"] == "slice" for f in second.history_findings):
        assert not second.ok
        return
    w = df["w"].to_numpy()
    for a0, a1 in zip(e1[:-1], e1[1:], strict=True):
        for b0, b1 in zip(e2[:-1], e2[1:], strict=True):
            lo, hi = max(a0, b0), min(a1, b1)
            if lo >= hi or (lo, hi) in ((a0, a1), (b0, b1)):
                continue
            inside = int(((w >= lo) & ((w <= hi) if hi == 100.0 else (w < hi))).sum())
            assert inside == 0 or inside >= 10, (lo, hi, inside)
