"""Researcher-facing functions (used by the enclave): tables that are checked as they are made.

In the spirit of ACRO's `crosstab`/`pivot_table`, but every cell counts distinct persons, magnitude
cells are checked per person and per employer, complementary cells are hidden so margins cannot
give a cell away, and each release is audited against the earlier ones.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kluis.disclosure.cells import members
from kluis.disclosure.history import History, publish_dir
from kluis.disclosure.linear import TOTAL
from kluis.disclosure.protect import Protected, protect
from kluis.disclosure.report import render
from kluis.disclosure.spec import DimensionSpec, Rules, TableSpec


@dataclass
class ProtectedTable:
    """What a researcher gets back: the publishable table, statuses, and the checker's report."""

    result: Protected

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def cells(self) -> pd.DataFrame:
        """Long form: one row per cell (margins included), hidden values empty."""
        return self.result.frame()

    @property
    def status(self) -> pd.DataFrame:
        return self.result.status_frame()

    def table(
        self, index: list[str] | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """Wide form like pandas.crosstab: rows = `index` dims, columns = `columns` dims."""
        f = self.cells
        dims = [d.column for d in self.result.spec.dimensions]
        index = index or dims[:-1]
        columns = columns or dims[-1:]
        val = "persons" if self.result.spec.statistic == "count" else self.result.spec.statistic
        for d in self.result.cells.structure.dims:
            if d.levels:  # keep the leaf level and the total in the wide form
                f = f[f[f"{d.name}_level"].isin(["code", TOTAL])]
        return f.pivot_table(
            index=index, columns=columns, values=val, aggfunc="first", dropna=False, sort=False
        )

    def html(self) -> str:
        return render(self.result)


def run(
    source: Any,
    spec: TableSpec,
    history: str | Path | None = None,
    record: bool = True,
    exact_audit: bool | None = None,
) -> Protected:
    """Protect, audit across the release history, and record the release if it may leave."""
    pt = protect(source, spec, exact_audit=exact_audit)
    if history is not None:
        hist = History(history)
        mem = members(source, spec) if spec.person_id else None
        pt.history_findings = hist.linked_audit(pt)
        if mem is not None:
            pt.history_findings += hist.differencing(pt, mem)
        pt.members = mem
        if record:
            record_release(pt, history)
    return pt


def record_release(pt: Protected, history: str | Path) -> Path | None:
    """Add a table that may be released to the history (after its outputs are written)."""
    if not pt.ok:
        return None
    return History(history).add(pt, pt.members)


def write_outputs(pt: Protected, out_dir: str | Path) -> dict[str, Path]:
    """Protected table, per-cell status and HTML report, published atomically as one directory."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    name = pt.spec.name
    pt.frame().to_csv(tmp / f"{name}.csv", index=False, float_format="%.10g")
    pt.status_frame().to_csv(tmp / f"{name}.status.csv", index=False, float_format="%.10g")
    (tmp / f"{name}.report.html").write_text(render(pt), encoding="utf-8")
    publish_dir(tmp, out)
    return {
        "table": out / f"{name}.csv",
        "status": out / f"{name}.status.csv",
        "report": out / f"{name}.report.html",
    }


def _spec(
    dims: list[str],
    person: str,
    employer: str | None,
    values: str | None,
    statistic: str,
    rules: dict | None,
    method: str,
    name: str,
    population: str,
) -> TableSpec:
    return TableSpec(
        name=name,
        population=population,
        dimensions=[DimensionSpec(column=d) for d in dims],
        person_id=person,
        employer_id=employer,
        response=values,
        statistic=statistic,
        rules=Rules(**(rules or {})),
        method=method,
    )


def crosstab(
    df: Any,
    index: str | list[str],
    columns: str | list[str],
    values: str | None = None,
    aggfunc: str | None = None,
    *,
    person: str,
    employer: str | None = None,
    rules: dict | None = None,
    method: str = "suppress",
    history: str | Path | None = None,
    name: str = "crosstab",
    population: str = "all",
) -> ProtectedTable:
    """A protected cross-table of distinct persons (or of `aggfunc` of `values`) with margins.

    aggfunc: None (count), "sum", "mean", "min", "max" or "median".
    """
    idx = [index] if isinstance(index, str) else list(index)
    col = [columns] if isinstance(columns, str) else list(columns)
    stat = {
        None: "count",
        "count": "count",
        "sum": "sum",
        "mean": "mean",
        "min": "min",
        "max": "max",
        "median": "quantile",
    }
    if aggfunc not in stat:
        raise ValueError(f"aggfunc {aggfunc!r}: use one of {sorted(k for k in stat if k)}")
    spec = _spec(
        idx + col,
        person,
        employer,
        values if aggfunc else None,
        stat[aggfunc],
        rules,
        method,
        name,
        population,
    )
    return ProtectedTable(run(df, spec, history))


def pivot_table(
    df: Any,
    values: str,
    index: str | list[str],
    columns: str | list[str],
    aggfunc: str = "mean",
    **kwargs: Any,
) -> ProtectedTable:
    """Same as `crosstab` with a response column, in pandas.pivot_table's argument order."""
    return crosstab(df, index, columns, values=values, aggfunc=aggfunc, **kwargs)


def protect_table(df: Any, spec: TableSpec, history: str | Path | None = None) -> ProtectedTable:
    """Protect a table described by a full spec (hierarchies, weights, custom rules)."""
    return ProtectedTable(run(df, spec, history))
