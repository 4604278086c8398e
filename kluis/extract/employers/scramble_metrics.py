"""How much a swap protects and how much it damages: the figures the scrambling report states.

WHY: the swap rate is a trade-off. More swapping makes a linkage attack fail more often but
weakens the relations the researchers will study. The report measures, on the actual fragment:
- the share of persons whose swapped attributes differ from their own;
- the marginal distributions before and after (equal by construction; checked, not assumed);
- the correlation loss: the association (Cramér's V) between each swapped variable and every
  other variable, before and after;
- the success rate of a linkage attack: an attacker holding the true records matches each
  released record to the nearest true record and is right when it is the same person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kluis.extract.employers.scramble import SwapResult, codes, swap

_DECIMALS = 6


def _is_numeric(column: pa.ChunkedArray) -> bool:
    t = column.type
    return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)


def _numeric(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy().astype(np.float64)


def _binned(column: pa.ChunkedArray, edges: np.ndarray | None) -> np.ndarray:
    """Category codes for association measures: numeric columns in decile bins of the original
    values (the same bins before and after), other columns as their value codes."""
    if edges is None:
        return codes(column)
    values = _numeric(column)
    out = np.searchsorted(edges, values, side="right").astype(np.int64)
    out[np.isnan(values)] = -1
    return out


def _decile_edges(column: pa.ChunkedArray) -> np.ndarray | None:
    if not _is_numeric(column):
        return None
    values = _numeric(column)
    values = values[~np.isnan(values)]
    if len(np.unique(values)) <= 10:  # few values: treat them as categories
        return None
    return np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) of two integer-coded variables: 0 when
    independent, 1 when one determines the other. The correction matters here: a fragment of a
    few thousand records cut into many employers makes the plain V large even for noise."""
    n = len(a)
    if n < 2:
        return 0.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    r, c = int(ai.max()) + 1, int(bi.max()) + 1
    if min(r, c) < 2:
        return 0.0
    table = np.bincount(ai * c + bi, minlength=r * c).reshape(r, c).astype(np.float64)
    expected = np.outer(table.sum(1), table.sum(0)) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n
    phi2c = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    cc = c - (c - 1) ** 2 / (n - 1)
    denom = min(rc - 1, cc - 1)
    return float(np.sqrt(phi2c / denom)) if denom > 0 else 0.0


def marginals(table: pa.Table, name: str) -> dict[str, int]:
    """Value -> count of one column, values as text, sorted: what the report prints."""
    counts = table.column(name).value_counts()
    values = counts.field("values").to_pylist()
    freqs = counts.field("counts").to_pylist()
    return dict(sorted((str(v), int(c)) for v, c in zip(values, freqs, strict=True)))


def _shared_codes(a: pa.ChunkedArray, b: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of two columns in one code space, so equal values get equal codes across both."""
    both = pa.chunked_array(list(a.chunks) + list(b.chunks), type=a.type)
    c = codes(both)
    return c[: len(a)], c[len(a) :]


def marginals_equal_within_strata(
    before: pa.Table, after: pa.Table, stratum: np.ndarray, variables: Sequence[str]
) -> bool:
    """True when every stratum holds the same multiset of values of every swapped variable
    (and hence so does the whole table)."""
    for name in variables:
        b, a = _shared_codes(before.column(name), after.column(name))
        key_b = np.lexsort((b, stratum))
        key_a = np.lexsort((a, stratum))
        if not np.array_equal(b[key_b], a[key_a]):
            return False
    return True


def association_loss(
    before: pa.Table, after: pa.Table, swapped: Sequence[str], others: Sequence[str]
) -> list[dict]:
    """Cramér's V of each (swapped, other) pair before and after the swap."""
    rows = []
    for s in swapped:
        s_edges = _decile_edges(before.column(s))
        for o in others:
            o_edges = _decile_edges(before.column(o))
            o_codes = _binned(before.column(o), o_edges)
            v_before = cramers_v(_binned(before.column(s), s_edges), o_codes)
            v_after = cramers_v(_binned(after.column(s), s_edges), o_codes)
            loss = (v_before - v_after) / v_before if v_before > 0 else 0.0
            rows.append(
                {
                    "swapped": s,
                    "other": o,
                    "v_before": round(v_before, _DECIMALS),
                    "v_after": round(v_after, _DECIMALS),
                    "relative_loss": round(loss, _DECIMALS),
                }
            )
    return rows


def _distance_parts(true: pa.Table, released: pa.Table, names: Sequence[str]):
    parts = []
    for name in names:
        col_t, col_r = true.column(name), released.column(name)
        if _is_numeric(col_t) and _decile_edges(col_t) is not None:
            t, r = _numeric(col_t), _numeric(col_r)
            scale = float(np.nanstd(t)) or 1.0
            parts.append(("numeric", np.nan_to_num(t / scale), np.nan_to_num(r / scale)))
        else:
            t, r = _shared_codes(col_t, col_r)
            parts.append(("categorical", t, r))
    return parts


def linkage_attack(
    true: pa.Table, released: pa.Table, quasi_identifiers: Sequence[str], chunk: int = 512
) -> np.ndarray:
    """Per released record, the chance that nearest-neighbour matching on the quasi-identifiers
    picks its own true record (row i of `released` is person i of `true`).

    Distance: number of differing categorical values plus standardised absolute differences of
    numeric ones. Ties are broken at random, so a record tied with m true records earns 1/m.
    """
    n = true.num_rows
    if released.num_rows != n:
        raise ValueError("linkage_attack: true and released records must be the same persons")
    parts = _distance_parts(true, released, quasi_identifiers)
    credit = np.zeros(n, dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        dist = np.zeros((stop - start, n), dtype=np.float64)
        for kind, t, r in parts:
            if kind == "numeric":
                dist += np.abs(r[start:stop, None] - t[None, :])
            else:
                dist += r[start:stop, None] != t[None, :]
        best = dist.min(axis=1, keepdims=True)
        ties = dist <= best + 1e-9
        own = ties[np.arange(stop - start), np.arange(start, stop)]
        credit[start:stop] = own / ties.sum(axis=1)
    return credit


@dataclass(frozen=True)
class ScrambleReport:
    """The figures of one swap, ready for JSON."""

    data: dict

    def to_dict(self) -> dict:
        return self.data


def _row_keys(
    true: pa.Table, released: pa.Table, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One integer per record for its combination of `names`, in one code space for both tables."""
    n = true.num_rows
    parts = [_shared_codes(true.column(c), released.column(c)) for c in names]
    stacked = np.column_stack([np.concatenate(p) for p in parts]) if parts else np.zeros((2 * n, 1))
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse[:n], inverse[n:]


def exact_matches(true: pa.Table, released: pa.Table, names: Sequence[str]) -> dict[str, float]:
    """Shares of released records whose combination of `names` is some true record's, and is
    their own true record's: the seed's promise is that released rows show no real person."""
    if true.num_rows == 0:
        return {"share_matching_a_real_record": 0.0, "share_matching_own_record": 0.0}
    t, r = _row_keys(true, released, names)
    real = np.isin(r, t)
    own = r == t
    return {
        "share_matching_a_real_record": round(float(real.mean()), _DECIMALS),
        "share_matching_own_record": round(float(own.mean()), _DECIMALS),
    }


View = Callable[[pa.Table], pa.Table]


def report(
    before: pa.Table,
    result: SwapResult,
    variables: Sequence[str],
    strata: Sequence[str],
    rate: float,
    quasi_identifiers: Sequence[str] | None = None,
    include_marginals: bool = True,
    view: View | None = None,
) -> ScrambleReport:
    """Everything the extract states about the swap it applied.

    `view` maps records to what the recipient can see of them (amounts in their classes); the
    marginals shown, the linkage attack and the exact-match shares use it, so the report never
    contains a finer value than the extract. Equality of marginals and the correlations are
    computed on the records themselves."""
    after = result.table
    seen_before = view(before) if view else before
    seen_after = view(after) if view else after
    others = [c for c in before.column_names if c not in variables]
    damaged = [c for c in others if c not in strata]
    qi = (
        list(quasi_identifiers) if quasi_identifiers is not None else list(seen_before.column_names)
    )
    credit_after = linkage_attack(seen_before, seen_after, qi)
    credit_before = linkage_attack(seen_before, seen_before, qi)
    assoc = association_loss(before, after, variables, others)
    losses = [r["relative_loss"] for r in assoc if r["v_before"] >= 0.05 and r["other"] in damaged]
    data = {
        "method": "random data swapping within strata (one derangement cycle per stratum); the "
        "swap variables move together as one block",
        "records": before.num_rows,
        "swap_variables": list(variables),
        "strata": list(strata),
        "n_strata": int(result.stratum.max() + 1) if before.num_rows else 0,
        "swap_rate": rate,
        "share_selected": round(result.share_selected, _DECIMALS),
        "share_changed": round(result.share_changed, _DECIMALS),
        "share_in_singleton_strata": round(float(result.singleton.mean()), _DECIMALS)
        if before.num_rows
        else 0.0,
        "marginals_equal": marginals_equal_within_strata(before, after, result.stratum, variables),
        "correlation": assoc,
        "correlation_loss_measured_against": damaged,
        "mean_correlation_loss": round(float(np.mean(losses)), _DECIMALS) if losses else 0.0,
        "linkage": {
            "quasi_identifiers": qi,
            "success_rate_unswapped": round(float(credit_before.mean()), _DECIMALS),
            "success_rate": round(float(credit_after.mean()), _DECIMALS),
            "success_rate_changed_records": round(
                float(credit_after[result.changed].mean()), _DECIMALS
            )
            if result.changed.any()
            else None,
            **exact_matches(seen_before, seen_after, qi),
        },
    }
    if include_marginals:
        data["marginals"] = {
            name: {"before": marginals(seen_before, name), "after": marginals(seen_after, name)}
            for name in variables
            if name in seen_before.column_names
        }
    return ScrambleReport(data)


def evaluate_rates(
    table: pa.Table,
    variables: Sequence[str],
    strata: Sequence[str],
    rates: Sequence[float],
    seed: int = 0,
    quasi_identifiers: Sequence[str] | None = None,
    view: View | None = None,
) -> list[dict]:
    """The trade-off table: for each candidate rate, share changed, correlation loss and linkage
    success, so the chosen rate can be justified by numbers."""
    rows = []
    for rate in rates:
        result = swap(table, variables, strata, rate=rate, seed=seed)
        r = report(table, result, variables, strata, rate, quasi_identifiers, False, view).data
        rows.append(
            {
                "swap_rate": rate,
                "share_changed": r["share_changed"],
                "mean_correlation_loss": r["mean_correlation_loss"],
                "linkage_success": r["linkage"]["success_rate"],
                "linkage_success_unswapped": r["linkage"]["success_rate_unswapped"],
                "share_matching_own_record": r["linkage"]["share_matching_own_record"],
                "share_matching_a_real_record": r["linkage"]["share_matching_a_real_record"],
                "marginals_equal": r["marginals_equal"],
            }
        )
    return rows
