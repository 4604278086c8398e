"""Check digits of direct identifiers (INSZ/BIS, KBO, RSZ), using kluis.warehouse.identifiers.

Only the column where an identifier lives is checked here (persons.insz, employers.kbo_number,
employers.rsz_number); a column that `references` it (person_year.insz, employments.rsz_number,
...) must hold values of that column, which the orphan check enforces, so every identifier in the
warehouse is covered without re-checking the same value on every one of its rows. The values are
streamed from DuckDB as Arrow batches and checked vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kluis.schema import TABLES
from kluis.warehouse import identifiers as ids
from kluis.warehouse.checks.problems import Problem
from kluis.warehouse.checks.sql import Runner, quote

_BATCH = 1_000_000
_WHAT = {
    "insz": "not a valid INSZ/BIS number (11 digits YYMMDDsssCC, month 0-12, +20 or +40 for BIS, "
    "serial 1-998, CC = 97 - (9 digits mod 97), with '2' prefixed for births from 2000)",
    "kbo": ids.KBO_RULE,
    "rsz": ids.RSZ_RULE,
}


def _validator(kind: str) -> Callable[[pa.Array], np.ndarray]:
    return {"insz": ids.insz_valid, "kbo": ids.kbo_valid, "rsz": ids.rsz_valid}[kind]


def _check_column(r: Runner, table: str, column: str, kind: str) -> None:
    valid = _validator(kind)

    def run() -> None:
        src = r.source(table, [column])
        if src is None:
            return
        reader = r.con.sql(
            f"SELECT _file, _row, {quote(column)} AS v FROM {src} WHERE {quote(column)} IS NOT NULL"
        ).to_arrow_reader(_BATCH)
        count = 0
        found: list[dict] = []
        for batch in reader:
            bad = ~np.asarray(valid(batch.column(2)), dtype=bool)
            k = int(bad.sum())
            if not k:
                continue
            count += k
            sub = batch.filter(pa.array(bad))
            order = pc.sort_indices(sub, [("_file", "ascending"), ("_row", "ascending")])
            rows = sub.take(order[: r.n]).to_pydict()
            found += [
                {"f": f, "r": rr, "v": v}
                for f, rr, v in zip(rows["_file"], rows["_row"], rows["v"], strict=True)
            ]
            found = sorted(found, key=lambda e: (e["f"], e["r"]))[: r.n]
        if count:
            r.problems.append(
                Problem(
                    "identifier", "error", table, column, _WHAT[kind], count, r._examples(found)
                )
            )

    r.guarded([table], f"identifier check of {table}.{column}", run)


def identifier_checks(r: Runner) -> None:
    for t in TABLES:
        for c in t.columns:
            if c.identifier and not c.references:
                _check_column(r, t.name, c.name, c.identifier)
