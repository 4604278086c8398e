"""Two tables binning one numeric column with different edges: the difference of two bins is
a slice nobody asked for.

`[25, 51)` minus `[25, 50)` is the number of persons in `[50, 51)`. The linked audit sees two
binnings with different edges as two unrelated variables (neither is a recode of the other) and
does not know that the bins are intervals of one line, which the attacker does. So here: for
every dimension of the new table whose codes are bins (labels `[lo, hi)`, the last `[lo, hi]`,
as the enclave's histograms write them) and every earlier release with a dimension of the same
name binned with other, not nested, edges, the persons of both whose two bins meet in a slice
that is neither bin must be none or at least the minimum of persons. Every such slice is taken
as derivable (the attacker's cumulative counts), which may refuse a little more than needed.
Nested edges (one a coarsening of the other) are a recode, which the linked audit handles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kluis.disclosure.record import Record

_LABEL = re.compile(r"^\[([^,\[\]()]+), ([^,\[\]()]+)([)\]])$")


def _number(x: float) -> str:
    text = repr(float(x))  # the shortest text that reads back as the same number
    return text[:-2] if text.endswith(".0") else text


def bin_label(lo: float, hi: float, last: bool) -> str:
    """A bin's label, giving its edges back exactly (`:g` wrote 1234567 and 1234568 both as
    1.23457e+06: two bins with one label, and a label that does not say where the bin is)."""
    return f"[{_number(lo)}, {_number(hi)}{']' if last else ')'}"


def bin_edges(codes: Iterable[str]) -> list[float] | None:
    """The edges of a binned dimension from its labels, or None when the codes are not bins."""
    edges: list[float] = []
    for code in codes:
        m = _LABEL.match(code)
        if m is None:
            return None
        try:
            lo, hi = float(m.group(1)), float(m.group(2))
        except ValueError:
            return None
        if edges and edges[-1] != lo or not lo < hi:
            return None
        edges += [lo, hi] if not edges else [hi]
    return edges if len(edges) >= 2 else None


def nested(a: list[float], b: list[float]) -> bool:
    """One set of edges is a coarsening of the other over their common range."""
    lo, hi = max(a[0], b[0]), min(a[-1], b[-1])
    ia = {x for x in a if lo < x < hi}
    ib = {x for x in b if lo < x < hi}
    return ia <= ib or ib <= ia


def _binned(rec: Record) -> dict[str, tuple[int, list[float]]]:
    out = {}
    for k, d in enumerate(rec.structure.dims):
        edges = bin_edges(d.codes)
        if edges is not None:
            out[d.name] = (k, edges)
    return out


def _person_bins(rec: Record, k: int) -> pd.DataFrame:
    cells = rec.members["cell"].to_numpy(dtype=np.int64)
    node = rec.structure.coords()[cells, k]
    return pd.DataFrame({"person": rec.members["person"].to_numpy(), "bin": node}).drop_duplicates()


def slice_findings(new: Record, old: list[Record]) -> list[dict]:
    """Error findings (kind `slice`) of the new table's binned dimensions against every
    earlier release binning a dimension of the same name with other edges."""
    mine = _binned(new) if new.members is not None else {}
    if not mine:
        return []
    n = int(new.meta["rules"]["min_frequency"])
    found = []
    for rec in old:
        if rec.members is None:
            continue
        for name, (j, theirs) in _binned(rec).items():
            if name not in mine:
                continue
            k, edges = mine[name]
            if nested(edges, theirs) or max(edges[0], theirs[0]) >= min(edges[-1], theirs[-1]):
                continue
            both = _person_bins(new, k).merge(_person_bins(rec, j), on="person")
            per = both.groupby(["bin_x", "bin_y"]).size()
            for (a, b), persons in per.items():
                lo = max(edges[a], theirs[b])
                hi = min(edges[a + 1], theirs[b + 1])
                whole = (lo, hi) in ((edges[a], edges[a + 1]), (theirs[b], theirs[b + 1]))
                mine_bin = bin_label(edges[a], edges[a + 1], False)
                if not whole and 0 < persons < n:
                    found.append(
                        {
                            "severity": "error",
                            "kind": "slice",
                            "cell": f"{new.name}: {name}={mine_bin}",
                            "detail": (
                                f"its bins of {name} and those of {rec.name} differ by the slice "
                                f"{bin_label(lo, hi, False)} of fewer than {n} persons (the "
                                "difference of two bins); use the same edges or a coarsening"
                            ),
                            "release": rec.name,
                        }
                    )
    return found
