"""Phase 1 of an employer study: a scrambled fragment of about N employee records.

WHY (seed 24/074, points 4 and 18): the researchers first receive "a fraction of the selected
enterprises", about 3,000 records, scrambled, to develop their syntax in their own offices.

1. Choose the fraction: listed employers in a keyed random order, per group an equal share of
   the record budget (then the rest of the budget from any group), each employer with all its
   years (the syntax must handle panels);
   employers larger than a tenth of the budget are left out so that one firm cannot fill it.
2. Collect their employee records (employer × year × person) from the engine — small.
3. Swap the deliberation's swap variables, as one block, between employees of the same stratum
   (year + the deliberation's strata) at the deliberation's rate (scramble.py).
4. Measure what the swap did (scramble_metrics.py) on the records as the recipient sees them
   (amounts in their classes) — the report goes into the extract.

The random choices are seeded from the project key: reproducible by the data provider,
unpredictable for the recipient, who never has the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kluis.deliberation.coarsening import Scheme
from kluis.engine import Engine
from kluis.extract.employers.records import RECORD_SCHEMA
from kluis.extract.employers.scramble import swap
from kluis.extract.employers.scramble_metrics import evaluate_rates, report
from kluis.pseudonym import PseudonymKey

MAX_EMPLOYER_SHARE = 0.1  # no employer may hold more than this share of the record budget
TRADE_OFF_RATES = (0.1, 0.25, 0.5, 0.75, 1.0)


def keyed_seed(key: PseudonymKey, purpose: str) -> int:
    """A 64-bit seed derived from the project key: the recipient cannot reproduce it."""
    return int.from_bytes(key.subkey(purpose)[:8], "big")


def record_counts(jobs_by_year: Sequence[ir.Table], engine: Engine) -> pa.Table:
    """employer_id, group, records: employee records per employer over all years (from the
    listed jobs alone: counting needs no education or age)."""
    union = ibis.union(*[r.select("employer_id", "group") for r in jobs_by_year], distinct=False)
    counts = union.group_by(["employer_id", "group"]).aggregate(records=union.count())
    schema = pa.schema(
        [("employer_id", pa.int64()), ("group", pa.string()), ("records", pa.int64())]
    )
    out = engine.to_arrow(counts, schema)
    return out.sort_by([("employer_id", "ascending")])


def _fill(pool: np.ndarray, n_rec: np.ndarray, budget: float) -> np.ndarray:
    """Employers of `pool` (in its order) taken while they fit in `budget`: a prefix that fits,
    then again among those that still fit, until none does (few rounds, not one per employer)."""
    taken: list[np.ndarray] = []
    while len(pool) and budget > 0:
        pool = pool[n_rec[pool] <= budget]
        cum = np.cumsum(n_rec[pool])
        prefix = pool[cum <= budget]
        if not len(prefix):
            break
        taken.append(prefix)
        budget -= float(n_rec[prefix].sum())
        pool = pool[len(prefix) :]
    return np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)


def choose_employers(counts: pa.Table, target: int, groups: Sequence[str], seed: int) -> np.ndarray:
    """Employer ids whose records add up to about `target` (never more, unless one employer
    alone exceeds it): first `target / len(groups)` per group, then what is left of the budget
    from any group (a small group does not shrink the fragment)."""
    rng = np.random.default_rng(seed)
    ids = counts.column("employer_id").to_numpy()
    n_rec = counts.column("records").to_numpy().astype(np.int64)
    group = counts.column("group").to_numpy(zero_copy_only=False)
    order = np.argsort(rng.random(len(ids)), kind="stable")
    cap = max(1, int(target * MAX_EMPLOYER_SHARE))
    eligible = order[n_rec[order] <= cap]
    chosen = [
        _fill(eligible[group[eligible] == g], n_rec, target / max(1, len(groups))) for g in groups
    ]
    taken = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    rest = eligible[~np.isin(eligible, taken)]
    taken = np.concatenate([taken, _fill(rest, n_rec, target - float(n_rec[taken].sum()))])
    if not len(taken) and len(ids):  # every employer is larger than the cap: the smallest one
        taken = np.argsort(n_rec, kind="stable")[:1]
    return np.sort(ids[taken.astype(np.int64)])


def collect_records(
    records_by_year: Sequence[ir.Table], engine: Engine, employer_ids: np.ndarray
) -> pa.Table:
    """The chosen employers' records as Arrow, in a deterministic order (engines return rows
    in any order; the swap must not depend on it)."""
    ids = [int(i) for i in employer_ids]
    parts = [r.filter(r.employer_id.isin(ids)) for r in records_by_year]
    union = ibis.union(*parts, distinct=False)
    table = engine.to_arrow(union, RECORD_SCHEMA)
    keys = [(c, "ascending", "at_start") for c in RECORD_SCHEMA.names]
    return table.take(pc.sort_indices(table, sort_keys=keys))


def class_view(schemes: dict[str, Scheme]) -> Callable[[pa.Table], pa.Table]:
    """Records as the recipient sees them: the given numeric columns in their classes (class
    number, null outside the classes)."""

    def view(table: pa.Table) -> pa.Table:
        out = table
        for name, scheme in schemes.items():
            values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            cls = np.searchsorted(np.asarray(scheme.breaks, dtype=np.float64), values, "right")
            valid = ~np.isnan(values) & (values >= scheme.breaks[0])
            if scheme.upper is not None:
                valid &= values <= scheme.upper
            arr = pa.array(cls.astype(np.int16), mask=~valid)
            out = out.set_column(out.schema.get_field_index(name), name, arr)
        return out

    return view


@dataclass(frozen=True)
class Fragment:
    """The scrambled records and the report on the swap."""

    records: pa.Table  # swapped, RECORD_SCHEMA
    report: dict
    employers: int


def scrambled_fragment(
    jobs_by_year: Sequence[ir.Table],
    records_by_year: Sequence[ir.Table],
    engine: Engine,
    *,
    target: int,
    groups: Sequence[str],
    swap_variables: Sequence[str],
    strata: Sequence[str],
    rate: float,
    key: PseudonymKey,
    view_schemes: dict[str, Scheme],
    trade_off_rates: Sequence[float] = TRADE_OFF_RATES,
) -> Fragment:
    """Choose, collect, swap and measure (see the module docstring)."""
    counts = record_counts(jobs_by_year, engine)
    chosen = choose_employers(counts, target, groups, keyed_seed(key, "employer-fragment"))
    records = collect_records(records_by_year, engine, chosen)
    all_strata = ["year", *[s for s in strata if s != "year"]]
    seed = keyed_seed(key, "scramble")
    result = swap(records, swap_variables, all_strata, rate=rate, seed=seed)
    view = class_view(view_schemes)
    qi = ["employer_id", *all_strata, *swap_variables]
    data = report(records, result, swap_variables, all_strata, rate, qi, view=view).to_dict()
    data["fragment"] = {
        "target_records": target,
        "records": records.num_rows,
        "employers": int(len(chosen)),
        "employers_listed_with_employees": counts.num_rows,
        "selection": "listed employers in keyed random order, an equal share of the budget per "
        "group first, then the rest of the budget from any group; all years of each employer; "
        f"employers above {MAX_EMPLOYER_SHARE:.0%} of the budget excluded",
        "records_by_group": _counts(records, "group"),
    }
    data["trade_off"] = evaluate_rates(
        records, swap_variables, all_strata, list(trade_off_rates), seed, qi, view
    )
    data["view"] = {name: scheme.name for name, scheme in view_schemes.items()}
    return Fragment(records=result.table, report=data, employers=int(len(chosen)))


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    vc = table.column(column).value_counts().to_pylist()
    return dict(sorted((str(v["values"]), int(v["counts"])) for v in vc))
