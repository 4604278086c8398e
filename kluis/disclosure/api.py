"""Researcher-facing functions (used by the enclave): tables that are checked as they are made.

In the spirit of ACRO's `crosstab`/`pivot_table`, but every cell counts distinct persons, magnitude
cells are checked per person and per employer, complementary cells are hidden so margins cannot
give a cell away, and each release is audited against the earlier ones. The rules come from the
deliberation (`deliberation=`); `rules=` may only make them stricter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kluis import atomic
from kluis.disclosure.against_history import protect_against_history
from kluis.disclosure.history import History
from kluis.disclosure.linear import TOTAL
from kluis.disclosure.protect import Protected, protect
from kluis.disclosure.record import write_record
from kluis.disclosure.report import render
from kluis.disclosure.rules import Baseline, apply_rules, baseline
from kluis.disclosure.spec import DimensionSpec, Rules, TableSpec

INTERNAL_NOTICE = (
    "INTERNAL - NOT FOR RELEASE.\n"
    "For the output checker only: which cells are hidden and why (the reasons tell which hidden\n"
    "cells are small), what the attacker can learn about them, the report, the release record.\n"
    "What may leave, once approved, is the table in the public directory.\n"
)


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


def checked_spec(spec: TableSpec, deliberation: Any = None) -> tuple[TableSpec, Baseline]:
    """The spec with the rules in force: the deliberation's (or the defaults), tightened only."""
    base = baseline(deliberation) if not isinstance(deliberation, Baseline) else deliberation
    return apply_rules(spec, base), base


def run(
    source: Any,
    spec: TableSpec,
    history: str | Path | None = None,
    record: bool = True,
    exact_audit: bool | None = None,
    *,
    deliberation: Any = None,
) -> Protected:
    """Protect `spec` over `source` with the deliberation's rules, audit it against the release
    history, and record it there if it may be released (`record=False`: audit only).

    `deliberation`: a Deliberation, its OutputRules, the path of its file, or None for the
    default output rules; the spec's own rules may only be stricter (WeakerRules otherwise)."""
    spec, base = checked_spec(spec, deliberation)
    pt = protect(source, spec, exact_audit=exact_audit)
    pt.deliberation = base.deliberation
    pt.rules_source = base.source
    if history is not None:
        hist = History(history)
        with hist.lock():
            pt = protect_against_history(pt, hist.audit)
            if record and pt.ok:
                record_release(pt, hist)
    return pt


def record_release(pt: Protected, history: str | Path | History) -> Path | None:
    """Add a table that may be released to the history (under the history's lock)."""
    if not pt.ok:
        return None
    hist = history if isinstance(history, History) else History(history)
    with hist.lock():
        stage = atomic.staging_dir(hist.path / ".record")
        try:
            return hist.add_record(write_record(pt, stage / "record"))
        finally:
            import shutil

            shutil.rmtree(stage, ignore_errors=True)


def write_outputs(
    pt: Protected, public_dir: str | Path, internal_dir: str | Path, *, public: bool = True
) -> dict[str, Path]:
    """What may leave into `public_dir` (the protected table: hidden cells empty, marked
    "suppressed", without saying which were small) and what only the checker sees into
    `internal_dir` (statuses, reasons, the attacker's intervals, the HTML report, all marked
    not for release). Files are written atomically. `public=False` (a table that may not be
    released) writes the internal part only. Returns role -> path."""
    pub, internal = Path(public_dir), Path(internal_dir)
    name = pt.spec.name
    out: dict[str, Path] = {}
    if public:
        pub.mkdir(parents=True, exist_ok=True)
        out["table"] = pub / f"{name}.csv"
        text = pt.public_frame().to_csv(index=False, float_format="%.10g")
        atomic.write_text(out["table"], text)
    internal.mkdir(parents=True, exist_ok=True)
    atomic.write_text(internal / "NOT-FOR-RELEASE.txt", INTERNAL_NOTICE)
    out["status"] = internal / f"{name}.internal-status.csv"
    atomic.write_text(out["status"], pt.status_frame().to_csv(index=False, float_format="%.10g"))
    out["report"] = internal / f"{name}.internal-report.html"
    atomic.write_text(out["report"], render(pt))
    return out


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
    population_filter: str | None = None,
) -> TableSpec:
    return TableSpec(
        name=name,
        population=population,
        population_filter=population_filter,
        dimensions=[DimensionSpec(column=d) for d in dims],
        person_id=person,
        employer_id=employer,
        response=values,
        statistic=statistic,
        rules=Rules(**(rules or {})),  # stricter than the deliberation's, or refused
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
    deliberation: Any = None,
    population_filter: str | None = None,
) -> ProtectedTable:
    """A protected cross-table of distinct persons (or of `aggfunc` of `values`) with margins.

    aggfunc: None (count), "sum", "mean", "min", "max" or "median". The rules are the
    deliberation's (`deliberation`: Deliberation, OutputRules or path; None: the default output
    rules); `rules` may only make them stricter. `population` and `population_filter` describe
    the population for people: the history links tables by their persons.
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
        population_filter,
    )
    return ProtectedTable(run(df, spec, history, deliberation=deliberation))


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


def protect_table(
    df: Any, spec: TableSpec, history: str | Path | None = None, *, deliberation: Any = None
) -> ProtectedTable:
    """Protect a table described by a full spec (hierarchies, weights, stricter rules)."""
    return ProtectedTable(run(df, spec, history, deliberation=deliberation))
