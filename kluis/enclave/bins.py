"""Histograms of one column whose bins overlap: the difference of two bins is a slice.

`[25, 51)` minus `[25, 50)` is the number of persons in `[50, 51)`, a bin nobody asked for. The
linked audit sees two histograms with different edges as two unrelated variables (neither is a
recode of the other) and cannot know that the bins are intervals of one line, so the enclave,
which does know, checks it here: against every earlier histogram of the same column (this run's
and the deliberation's released ones, read back from their bin labels), the slices between the
edges of both — where neither set of edges is a coarsening of the other — must each hold no
person or at least the minimum of persons. Nested edges are left to the linked audit (a
coarsening is a recode, which it links).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

_LABEL = re.compile(r"^\[([^,\[\]()]+), ([^,\[\]()]+)([)\]])$")


def _number(x: float) -> str:
    text = repr(float(x))  # the shortest text that reads back as the same number
    return text[:-2] if text.endswith(".0") else text


def label(lo: float, hi: float, last: bool) -> str:
    """A bin's label, giving its edges back exactly (`:g` wrote 1234567 and 1234568 both as
    1.23457e+06: two bins with one label, and a label that does not say where the bin is)."""
    return f"[{_number(lo)}, {_number(hi)}{']' if last else ')'}"


def edges_of(codes: Iterable[str]) -> list[float] | None:
    """The edges of a histogram from its bin labels, or None when the codes are not bins."""
    edges: list[float] = []
    for code in codes:
        m = _LABEL.match(code)
        if m is None:
            return None
        try:
            lo, hi = float(m.group(1)), float(m.group(2))
        except ValueError:
            return None
        if edges and edges[-1] != lo:
            return None
        edges += [lo, hi] if not edges else [hi]
    return edges if len(edges) >= 2 else None


def _nested(a: list[float], b: list[float]) -> bool:
    lo, hi = max(a[0], b[0]), min(a[-1], b[-1])
    ia = {x for x in a if lo < x < hi}
    ib = {x for x in b if lo < x < hi}
    return ia <= ib or ib <= ia


def small_slices(
    pid: np.ndarray, value: np.ndarray, new: list[float], old: list[float], n: int
) -> list[tuple[float, float, int]]:
    """(low, high, persons) of each slice between the edges of `new` and `old` (over their
    common range) holding 1..n-1 distinct persons; none when the edges are nested."""
    lo, hi = max(new[0], old[0]), min(new[-1], old[-1])
    if lo >= hi or _nested(new, old):
        return []
    cuts = sorted({x for x in new + old if lo <= x <= hi})
    out = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        inside = (value >= a) & ((value <= b) if k == len(cuts) - 2 else (value < b))
        persons = len(np.unique(pid[inside]))
        if 0 < persons < n:
            out.append((a, b, persons))
    return out
