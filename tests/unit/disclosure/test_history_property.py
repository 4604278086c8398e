"""Property: whatever sequence of releases a researcher asks for — recodes, nested populations,
counts, means and maxima, in any order — an independent LP over everything kluis let leave
never pins a hidden cell, or the difference between two populations in a cell, to between 1 and
min_frequency - 1 persons; nor narrows a hidden small cell below its protection interval."""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.disclosure.api import run
from kluis.disclosure.spec import TableSpec

from .linked_attacker import Attacker, Release, below_protection, pinned_small, plain, recoded

A = [str(i) for i in range(5)]
GROUP = {"0": "p", "1": "p", "2": "q", "3": "q", "4": "q"}  # a recode of A
B = list("xyz")
C = list("uv")


def _micro(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.choice(A, n, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "a": a,
            "g": [GROUP[x] for x in a],
            "b": rng.choice(B, n, p=[0.5, 0.3, 0.2]),
            "c": rng.choice(C, n),
            # wages in classes, so that maxima are shared and max tables publish cells
            "wage": np.minimum(np.round(rng.lognormal(7.5, 0.5, n) / 500) * 500, 1500.0),
        }
    )


DIMS = {
    "a": lambda: plain("a", A),
    "g": lambda: recoded("g", "a", GROUP),
    "b": lambda: plain("b", B),
    "c": lambda: plain("c", C),
}

release = st.tuples(
    st.sampled_from([("a", "b"), ("g", "b"), ("a", "c"), ("g",), ("b", "c"), ("g", "c")]),
    st.sampled_from(["count", "count", "mean", "max"]),
    # population: 0 everybody, 1 everybody but a few, 2 those with b != z, 3 a sub-group of
    # the previous release's population
    st.integers(0, 3),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(150, 400),
    releases=st.lists(release, min_size=2, max_size=5),
)
def test_no_combination_of_released_tables_pins_a_small_group(seed, n, releases):
    df = _micro(seed, n)
    rng = np.random.default_rng(seed + 1)
    few = set(rng.choice(df["person"].to_numpy(), int(rng.integers(3, 12)), replace=False))
    previous = df
    released: list[Release] = []
    with tempfile.TemporaryDirectory() as hist:
        for i, (dims, statistic, pop) in enumerate(releases):
            population = [
                df,
                df[~df["person"].isin(few)],
                df[df["b"] != "z"],
                previous[previous["person"] % 3 != 0],
            ][pop]
            kw = {"response": "wage", "statistic": statistic} if statistic != "count" else {}
            spec = TableSpec(
                name=f"r{i}",
                dimensions=[{"column": d} for d in dims],
                person_id="person",
                **kw,
            )
            pt = run(population, spec, history=hist)
            previous = population
            if pt.ok:
                rel = Release(
                    spec.name, set(population["person"]), [DIMS[d]() for d in dims], pt.frame()
                )
                released.append(rel)
    if not released:
        return
    att = Attacker(df, "person", {"a": A, "b": B, "c": C}, released)
    queries = att.hidden_cells() + att.differences()
    assert att.disclosures(queries, pinned_small(10)) == []
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []
