"""The linked audit's person-level work (persons.py): dense numbering and profiles must be what
a plain sort of every person would give, on both ways of numbering (sequence numbers addressed
directly, hashed text ids sorted), and the audit's atoms must count the same persons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.disclosure.atoms import build_space
from kluis.disclosure.linear import Dimension, TableStructure
from kluis.disclosure.persons import (
    all_distinct,
    dense_persons,
    group_rows,
    profiles,
)
from kluis.disclosure.record import Record


def _record(persons: np.ndarray, cells: np.ndarray, n_codes: int, name: str) -> Record:
    dims = (Dimension(name="x", codes=tuple(str(i) for i in range(n_codes))),)
    return Record(
        Path(name),
        {"name": name},
        TableStructure(dims),
        pd.DataFrame(),
        pd.DataFrame({"person": persons, "cell": cells}),
    )


@st.composite
def records(draw, spread: int) -> list[Record]:
    """1-4 records over up to 60 persons numbered 0.. times `spread` (1: sequence numbers,
    huge: hashed ids), each person once per record, in a leaf cell of a 1..4-code dimension."""
    n_people = draw(st.integers(1, 60))
    numbers = np.arange(n_people, dtype=np.int64) * spread - spread // 2
    out = []
    for i in range(draw(st.integers(1, 4))):
        take = draw(st.lists(st.booleans(), min_size=n_people, max_size=n_people))
        who = numbers[np.array(take, dtype=bool)]
        n_codes = draw(st.integers(1, 4))
        codes = draw(st.lists(st.integers(0, n_codes - 1), min_size=who.size, max_size=who.size))
        # a record's leaf cells of one dimension with a total: leaves are cells 0..n_codes-1
        out.append(_record(who, np.array(codes, dtype=np.int64), n_codes, f"r{i}"))
    return out


def _by_sorting(recs: list[Record]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """What the audit did before persons.py: np.unique over every person and every row."""
    people = [r.members["person"].to_numpy(dtype=np.int64) for r in recs]
    uniq = np.unique(np.concatenate(people))
    per = [np.searchsorted(uniq, p) for p in people]
    rows = np.full((uniq.size, len(recs)), -1, dtype=np.int64)
    for r, (idx, rec) in enumerate(zip(per, recs, strict=True)):
        rows[idx, r] = rec.members["cell"].to_numpy()
    return uniq, per, rows


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([1, 3, 2**40]).flatmap(records))
def test_profiles_are_the_sorted_distinct_rows_of_cells(recs):
    uniq, expected_per, rows = _by_sorting(recs)
    per, n = dense_persons(recs)
    assert n == uniq.size
    for got, want in zip(per, expected_per, strict=True):
        np.testing.assert_array_equal(got, want)
    prof = profiles(recs, per, n)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(prof.cells, distinct)
    np.testing.assert_array_equal(prof.of, inverse.ravel())
    np.testing.assert_array_equal(prof.count, np.bincount(inverse.ravel()))


def test_rows_too_wide_for_one_key_are_regrouped_without_losing_order():
    # 40 columns of 9 codes: 10**40 keys, far beyond int64; grouping must stay exact
    rng = np.random.default_rng(7)
    n = 500
    values = rng.integers(0, 3, size=(n, 40))
    idx = np.arange(n)
    group, one = group_rows(n, [(idx, values[:, j], 9) for j in range(40)])
    distinct, inverse = np.unique(values, axis=0, return_inverse=True)
    np.testing.assert_array_equal(group, inverse.ravel())
    np.testing.assert_array_equal(values[one], distinct)


def test_atoms_count_every_person_once():
    rng = np.random.default_rng(3)
    a = _record(np.arange(0, 3000), rng.integers(0, 3, 3000), 3, "a")
    b = _record(np.arange(1000, 5000, 2), rng.integers(0, 2, 2000), 2, "b")
    space = build_space([a, b])
    counts = space.atom_counts()
    assert counts.sum() == space.n_persons == 4000
    np.testing.assert_array_equal(counts, np.bincount(space.atom_of, minlength=space.n_atoms))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-50, 50), max_size=40),
    st.sampled_from([1, 2**40]),
)
def test_all_distinct_is_no_number_twice(numbers, spread):
    """Both ways: sequence numbers (direct addressing) and spread-out numbers (hash)."""
    values = np.array(numbers, dtype=np.int64) * spread
    assert all_distinct(values) == (len(set(numbers)) == len(numbers))
    assert all_distinct(values.astype(str)) == (len(set(numbers)) == len(numbers))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4)), max_size=40),
    st.sampled_from([1, 2**40]),
    st.booleans(),
)
def test_members_order_is_the_sort_by_person_then_cell(rows, spread, once):
    """record.members orders a table's rows by (person, cell) without a sort when every person
    has one row: the same order as the sort, whatever the numbers."""
    from kluis.disclosure.record import _by_person

    if once:
        rows = list({p: (p, c) for p, c in rows}.values())
    person = np.array([p for p, _ in rows], dtype=np.int64) * spread
    cell = np.array([c for _, c in rows], dtype=np.int64)
    np.testing.assert_array_equal(_by_person(person, cell), np.lexsort((cell, person)))


def test_linked_tables_beyond_the_memory_cap_are_refused_not_audited(tmp_path, monkeypatch):
    """More person-rows than MAX_ROWS together: an error finding that says so (the table may
    not be released) instead of running the trusted side out of memory."""
    from kluis.deliberation.model import OutputRules
    from kluis.disclosure import persons
    from kluis.disclosure.history import History
    from kluis.disclosure.protect import protect
    from kluis.disclosure.record import write_record
    from kluis.disclosure.rules import rules_from_deliberation
    from kluis.disclosure.spec import DimensionSpec, TableSpec

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"pid": np.arange(400), "sex": rng.choice(["F", "M"], 400)})
    rules = rules_from_deliberation(OutputRules())

    def table(name: str, rows: pd.DataFrame):
        spec = TableSpec(
            name=name, dimensions=[DimensionSpec(column="sex")], person_id="pid", rules=rules
        )
        return protect(rows, spec)

    history = History(tmp_path / "history")
    history.add_record(write_record(table("all", frame), tmp_path / "rec"))
    new = table("all_but_few", frame.iloc[3:])
    assert not [f for f in history.audit(new) if "too large" in f["detail"]]  # the control
    monkeypatch.setattr(persons, "MAX_ROWS", 500)
    found = [f for f in history.audit(new) if f["severity"] == "error"]
    assert found and "too large to audit together" in found[0]["detail"]
    assert "797 person-rows in 2 linked tables" in found[0]["detail"]
