"""What a Python output *asks for* must be written in the project's code, like its constants.

Code in the sandbox sees the full data. Besides a query constant (see
`outputs.foreign_constants`), it can put a value it computed into what it asks for: the name of
an output or of a column (`t.mutate(**{"n" + str(x): ...})`), histogram edges, a quantile. Each
of those is published (a file name, a header, a bin label) even when every number of the output
passes the rules. So each must appear in the project's code (or be an extract column, or a name
kluis.safe made itself); otherwise the output goes to a checker with what was not written.

What remains (documented in docs/enclave.md): *which* of the written things code asks for, how
many outputs, and in which order can still depend on the data; the checker reads the code.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from kluis.enclave.formula import parse_formula
from kluis.enclave.outputs import BuildContext, refused
from kluis.enclave.request import Output
from kluis.errors import KluisError

_KINDS = "table|describe|histogram|ols|logit|probit|file"


def _number_written(ctx: BuildContext, value: float) -> bool:
    if value.is_integer() and abs(value) <= 10:
        return True  # small integers, as for query constants
    return value in ctx.numbers() or -value in ctx.numbers()


def _grid_written(ctx: BuildContext, edges: list[float]) -> bool:
    """Evenly spaced edges from `range=(lo, hi), bins=n` with lo, hi and n written."""
    n = len(edges) - 1
    lo, hi = edges[0], edges[-1]
    grid = [lo + (hi - lo) * i / n for i in range(n + 1)]
    pairs = zip(edges, grid, strict=True)
    even = all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in pairs)
    ends = _number_written(ctx, lo) and _number_written(ctx, hi)
    return even and ends and _number_written(ctx, float(n))


def columns_named(intent) -> list[str]:
    """The columns of the query an intent names (dimensions, value, formula terms)."""
    if intent.kind == "table":
        return [*intent.dimensions, *([intent.values] if intent.values else [])]
    if intent.kind == "histogram":
        return [intent.column]
    if intent.kind == "describe":
        return list(intent.columns)
    if intent.kind == "regression":
        return parse_formula(intent.formula).columns
    return []


def unwritten(ctx: BuildContext, intent, entry: str) -> list[str]:
    """What `intent` publishes that the project's code does not hold (empty: all written)."""
    code = ctx.code_text
    out: list[str] = []
    default = re.compile(rf"{re.escape(Path(entry).stem)}_({_KINDS})_\d{{3}}")
    if not default.fullmatch(intent.name) and intent.name not in code:
        out.append(f"output name {intent.name!r}")
    extract_columns = {c for t in ctx.catalog.values() for c in t.columns}
    for c in columns_named(intent):
        if c not in extract_columns and c not in code:
            out.append(f"column name {c!r}")
    if intent.kind == "histogram":
        edges = list(intent.edges)
        if not (all(_number_written(ctx, e) for e in edges) or _grid_written(ctx, edges)):
            out.append(f"histogram edges {', '.join(f'{e:g}' for e in edges)}")
    q = intent.quantile if intent.kind == "table" and intent.statistic == "quantile" else None
    if q is not None and not _number_written(ctx, float(q)):
        out.append(f"quantile {q:g}")
    return out


def unwritten_to_review(ctx: BuildContext, asked, entry: str, built: Output) -> Output:
    """An output that would pass, but publishes a name or number the code does not hold (it
    may have been computed from the data), goes to a checker instead."""
    if built.status not in ("safe", "suppressed"):
        return built
    try:
        missing = unwritten(ctx, asked, entry)
    except KluisError as exc:
        return refused(built.name, built.kind, built.source, str(exc))
    if not missing:
        return built
    reason = (
        f"{built.reason}; {', '.join(missing)} not written in the project's code: it may have "
        "been computed from the data, so a checker must confirm it"
    )
    return built.model_copy(update={"status": "review", "reason": reason})
