"""The enclave's ONE door to the disclosure engine (kluis.disclosure), on the agreed contract
(TEAM.md, "Contracts between helpers"; docs/disclosure.md, "The release history"):

- the rules:   kluis.disclosure.rules.rules_from_deliberation(output_rules), nothing else;
- the history: History(path).audit(pt), through protect_against_history (cells that earlier
               releases make revealing are hidden, what stays revealing is refused);
- the record:  kluis.disclosure.history.write_record(pt, directory);
- the files:   kluis.disclosure.api.write_outputs(pt, public_dir, internal_dir).

Each table of a run is audited against the deliberation's release history AND the tables made
earlier in the same run (two tables of one run can difference each other just as two releases
can): a scratch history of links holds both. Nothing is recorded in the deliberation's history
here: the release records what leaves, from the request's internal/history/<name>/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from kluis import atomic
from kluis.disclosure import primary as primary_rules
from kluis.disclosure.against_history import protect_against_history
from kluis.disclosure.api import write_outputs
from kluis.disclosure.history import History, write_record
from kluis.disclosure.persons import all_distinct
from kluis.disclosure.protect import Protected, protect
from kluis.disclosure.record import Record, read_record
from kluis.disclosure.rules import rules_from_deliberation
from kluis.disclosure.slices import bin_label
from kluis.disclosure.spec import DimensionSpec, Rules, TableSpec

__all__ = [
    "DimensionSpec",
    "Protected",
    "RunHistory",
    "Rules",
    "TableSpec",
    "all_distinct",
    "audit_violations",
    "bin_label",
    "one_cell_rules",
    "protect",
    "rules_from_deliberation",
    "status_counts",
    "write_files",
]


def one_cell_rules(stats: dict[str, float], rules: Rules, what: str) -> str:
    """The first primary rule one cell of statistics fails ('' when none): the engine's rule
    functions on a one-row frame (describe() uses it per statistic). `what` is count, magnitude,
    min, max or a quantile as 'q0.25'."""
    s = pd.DataFrame([stats])
    n = rules.min_frequency
    if primary_rules.frequency(s, n)[0]:
        return f"fewer than {n} persons"
    if what == "magnitude":
        if rules.p_percent is not None and primary_rules.p_percent(s, rules.p_percent, "p")[0]:
            return f"p% rule ({rules.p_percent:g}%) by person"
        if rules.nk is not None and primary_rules.nk(s, rules.nk.n, rules.nk.k, "p")[0]:
            return f"({rules.nk.n},{rules.nk.k:g}) dominance by person"
        if primary_rules.same_value(s)[0]:
            return "all contributors have the same value"
    if what in ("min", "max") and primary_rules.extreme(s, what, n)[0]:
        return f"{what} shared by fewer than {n} persons"
    if what.startswith("q") and primary_rules.quantile(s, float(what[1:]), n)[0]:
        return "percentile of a small group"
    return ""


def write_files(
    pt: Protected,
    public_dir: Path,
    internal_dir: Path,
    *,
    public: bool,
    rename: dict[str, str | None] | None = None,
) -> dict[str, Path]:
    """The engine's public and internal files of one table (write_outputs). `rename` maps
    public columns to the names an employer table publishes them under (None: not published,
    e.g. a count of records that says nothing useful); the file is rewritten atomically."""
    files = write_outputs(pt, public_dir, internal_dir, public=public)
    table = files.get("table")
    if table is not None and rename:
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        frame = frame.drop(columns=[k for k, v in rename.items() if v is None and k in frame])
        frame = frame.rename(columns={k: v for k, v in rename.items() if v is not None})
        atomic.write_text(table, frame.to_csv(index=False, lineterminator="\n"))
    return files


def status_counts(pt: Protected) -> dict[str, int]:
    st = pt.status
    return {k: int((st == k).sum()) for k in ("safe", "primary", "secondary")}


def audit_violations(pt: Protected) -> int:
    """Hidden cells the attacker's LP narrows below their protection within the table itself."""
    return sum(int(c.violated.sum()) for c in pt.audit.values())


class _View(History):
    """A history whose records are held in memory: each is read once per run, not once per
    table (a record holds every person of its table: millions of rows at national scale)."""

    def __init__(self, path: Path, records: list[Record]) -> None:
        super().__init__(path)
        self._records = records

    def records(self) -> list[Record]:
        return list(self._records)


class RunHistory:
    """The deliberation's release history and the tables made earlier in this run, seen as one
    history (a scratch directory of links, numbered in order, and their records in memory), so
    each new table is audited against both at once by History.audit."""

    def __init__(self, deliberation_history: Path, view: Path) -> None:
        self.view = view
        view.mkdir(parents=True, exist_ok=True)
        releases = History(deliberation_history).releases()
        for rel in releases:
            os.symlink(rel.absolute(), view / rel.name, target_is_directory=True)
        # the run's records are numbered after the highest release (numbers may have gaps)
        self.count = max((int(r.name.split("-", 1)[0]) for r in releases), default=0)
        self._records: list[Record] | None = None  # read when the first table is audited

    def _history(self) -> _View:
        if self._records is None:
            self._records = History(self.view).records()
        return _View(self.view, self._records)

    def protect(self, pt: Protected) -> Protected:
        """`pt` with the cells hidden that the history and this run's earlier tables make
        revealing; its `history_findings` say what still is (an error: not releasable)."""
        return protect_against_history(pt, self._history().audit)

    def record(self, pt: Protected, directory: Path) -> Path:
        """Write the release record of `pt` into `directory` (the request's internal/history/
        <name>/, which the release adds to the history if the output is approved) and let the
        run's later tables be audited against it."""
        made = write_record(pt, directory)
        self.count += 1
        link = self.view / f"{self.count:05d}-{made.name}"
        os.symlink(made.absolute(), link)
        if self._records is not None:
            self._records.append(read_record(link))
        return made


def findings_json(findings: list[dict]) -> list[dict]:
    """Findings as plain JSON (the request keeps them; numpy numbers become numbers)."""
    return json.loads(json.dumps(findings, default=_plain))


def _plain(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)
