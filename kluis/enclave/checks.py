"""The enclave's ONE door to the disclosure engine (kluis.disclosure).

Everything the enclave asks of the engine goes through these functions, so that the engine's API
can change in one place. Written against today's API; the agreed contract names are noted where
they go (TEAM.md, "Contracts between helpers"):

- `engine_rules`    -> kluis.disclosure.rules.rules_from_deliberation(output_rules)
- `RunHistory.audit`-> History($KLUIS_HOME/history/<slug>).audit(pt) plus this run's outputs
- `write_record`    -> kluis.disclosure.history.write_record(pt, directory)
- `write_internal` / `write_public` -> kluis.disclosure.api.write_outputs(pt, public, internal)

Nothing is recorded in the deliberation's history here: the release does that for what leaves.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kluis.disclosure import rules as engine_rules_module
from kluis.disclosure.cells import members as engine_members
from kluis.disclosure.history import History
from kluis.disclosure.protect import Protected
from kluis.disclosure.protect import protect as engine_protect
from kluis.disclosure.report import render
from kluis.disclosure.spec import NK, DimensionSpec, Rules, TableSpec

__all__ = [
    "DimensionSpec",
    "Protected",
    "RunHistory",
    "Rules",
    "TableSpec",
    "engine_rules",
    "one_cell_rules",
    "protect",
    "write_internal",
    "write_public",
]


def engine_rules(output_rules: Any) -> Rules:
    """The deliberation's `output_rules` as the engine's Rules, and nothing weaker: every other
    field keeps the engine's (strict) default.
    Contract: kluis.disclosure.rules.rules_from_deliberation(output_rules)."""
    return Rules(
        min_frequency=output_rules.min_cell,
        p_percent=output_rules.dominance.p,
        nk=NK(n=output_rules.dominance.n, k=output_rules.dominance.k),
        protection_ratio=output_rules.protection,
    )


def protect(source: Any, spec: TableSpec) -> Protected:
    """Cells, primary rules, secondary suppression and the attacker's audit of one table."""
    return engine_protect(source, spec)


def members(source: Any, spec: TableSpec) -> pd.DataFrame | None:
    """(person, leaf codes) of the table's population: what the history needs for differencing."""
    return engine_members(source, spec) if spec.person_id else None


def one_cell_rules(stats: dict[str, float], rules: Rules, what: str) -> str:
    """The first primary rule one cell of statistics fails ('' when none): the engine's rule
    functions on a one-row frame (describe() uses it per statistic). `what` is count, magnitude,
    min, max or a quantile as 'q0.25'."""
    s = pd.DataFrame([stats])
    n = rules.min_frequency
    if engine_rules_module.frequency(s, n)[0]:
        return f"fewer than {n} persons"
    if what == "magnitude":
        if (
            rules.p_percent is not None
            and engine_rules_module.p_percent(s, rules.p_percent, "p")[0]
        ):
            return f"p% rule ({rules.p_percent:g}%) by person"
        if rules.nk is not None and engine_rules_module.nk(s, rules.nk.n, rules.nk.k, "p")[0]:
            return f"({rules.nk.n},{rules.nk.k:g}) dominance by person"
        if engine_rules_module.same_value(s)[0]:
            return "all contributors have the same value"
    if what in ("min", "max") and engine_rules_module.extreme(s, what, n)[0]:
        return f"{what} shared by fewer than {n} persons"
    if what.startswith("q") and engine_rules_module.quantile(s, float(what[1:]), n)[0]:
        return "percentile of a small group"
    return ""


def write_public(pt: Protected, path: Path, rename: dict[str, str | None] | None = None) -> None:
    """What may leave: the protected table, hidden values empty, and no statuses (a cell marked
    'primary' says it is small). `rename` maps engine columns to public names (None: drop)."""
    frame = pt.frame().drop(columns=["status"])
    if rename:
        frame = frame.drop(columns=[k for k, v in rename.items() if v is None])
        frame = frame.rename(columns={k: v for k, v in rename.items() if v is not None})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def write_internal(pt: Protected, directory: Path, name: str) -> dict[str, Path]:
    """What only the checker sees: per-cell statuses, reasons and attacker intervals, and the
    HTML report. Contract: the internal half of write_outputs(pt, public_dir, internal_dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    status = directory / f"{name}.status.csv"
    report = directory / f"{name}.report.html"
    pt.status_frame().to_csv(status, index=False, float_format="%.10g", lineterminator="\n")
    report.write_text(render(pt), encoding="utf-8")
    return {"status": status, "report": report}


def status_counts(pt: Protected) -> dict[str, int]:
    st = pt.status
    return {k: int((st == k).sum()) for k in ("safe", "primary", "secondary")}


def audit_violations(pt: Protected) -> int:
    return sum(int(c.violated.sum()) for c in pt.audit.values())


class RunHistory:
    """The deliberation's release history and the outputs made earlier in this run, seen as one
    history (a directory of links), so each new output is audited against both at once."""

    def __init__(self, deliberation_history: Path, view: Path) -> None:
        self.view = view
        view.mkdir(parents=True, exist_ok=True)
        releases = History(deliberation_history).releases()
        for rel in releases:
            os.symlink(rel.absolute(), view / rel.name, target_is_directory=True)
        self.count = len(releases)

    def audit(self, pt: Protected, population: pd.DataFrame | None) -> list[dict]:
        """Findings of `pt` against everything already in the view.
        Contract: History(path).audit(pt)."""
        findings = History(self.view).linked_audit(pt)
        if population is None:
            return findings
        dims = {d.column for d in pt.spec.dimensions}
        sharing, apart = [], []
        for rel in History(self.view).releases():
            meta = json.loads((rel / "meta.json").read_text())
            (sharing if dims & {d["name"] for d in meta["dims"]} else apart).append(rel)
        # today's History.differencing needs a dimension in common (its query has an empty
        # GROUP BY otherwise); releases without one are compared on their grand totals here
        subset = self.view.parent / ".differencing"
        shutil.rmtree(subset, ignore_errors=True)
        subset.mkdir()
        for rel in sharing:
            os.symlink(rel.resolve(), subset / rel.name, target_is_directory=True)
        findings += History(subset).differencing(pt, population)
        shutil.rmtree(subset, ignore_errors=True)
        return findings + _total_differencing(pt, population, apart)

    def record(self, pt: Protected, population: pd.DataFrame | None, directory: Path) -> None:
        """Write the release record of `pt` into `directory` (the request's internal/history/
        <name>/, which the release adds to the history if the output is approved), and add it
        to this run's view. Contract: kluis.disclosure.history.write_record(pt, directory)."""
        scratch = self.view.parent / f".record-{directory.name}"
        shutil.rmtree(scratch, ignore_errors=True)
        made = History(scratch).add(pt, population)
        directory.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(made), directory)
        shutil.rmtree(scratch, ignore_errors=True)
        self.count += 1
        os.symlink(directory.absolute(), self.view / f"{self.count:05d}-{directory.name}")


def _grand_total(keys: pd.Series) -> np.ndarray:
    return np.array(
        [all(p.endswith("=Total:Total") for p in str(k).split("|")) for k in keys], dtype=bool
    )


def _total_differencing(pt: Protected, population: pd.DataFrame, releases: list[Path]) -> list:
    """Grand totals of two populations published in two releases that differ by a few persons
    (the subtraction gives them away)."""
    out: list[dict] = []
    frame = pt.frame()
    dims = [d.column for d in pt.spec.dimensions]
    top = (frame[dims] == "Total").all(axis=1)
    if not top.any() or (frame.loc[top, "status"] != "safe").any():
        return out
    n_min = pt.spec.rules.min_frequency
    mine = population[["person"]].drop_duplicates()
    for rel in releases:
        members = rel / "members.parquet"
        if not members.exists():
            continue
        cells = pd.read_parquet(rel / "cells.parquet", columns=["key", "published"])
        published = cells.loc[_grand_total(cells["key"]), "published"]
        if published.empty or not bool(published.all()):
            continue
        n_old = _label_count(rel)
        if n_old is not None and abs(n_old - len(mine)) >= n_min:
            continue  # |A - B| + |B - A| >= ||A| - |B||: far enough apart
        con = duckdb.connect()
        con.register("a", mine)
        path = members.as_posix().replace("'", "''")
        con.execute(f"CREATE VIEW b AS SELECT DISTINCT person FROM read_parquet('{path}')")
        n = con.execute(
            "SELECT (SELECT count(*) FROM (SELECT person FROM a EXCEPT SELECT person FROM b)) + "
            "(SELECT count(*) FROM (SELECT person FROM b EXCEPT SELECT person FROM a))"
        ).fetchall()[0][0]
        con.close()
        if 0 < n < n_min:
            out.append(
                {
                    "severity": "error",
                    "kind": "differencing",
                    "cell": "(grand total)",
                    "detail": f"its total differs from release {rel.name} by {n} person(s)",
                }
            )
    return out


def _label_count(rel: Path) -> int | None:
    """The number of members a release's population label gives (see population_label)."""
    try:
        label = json.loads((rel / "meta.json").read_text())["population"]
        return int(label.split(" ", 1)[0])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def population_label(data: Any, column: str, what: str) -> str:
    """A label that names a population by its members (today's History links releases by this
    label): the number of distinct units and a fingerprint of who they are."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("data", data)
    n, fingerprint = con.execute(
        f'SELECT count(*), bit_xor(hash(p)) FROM (SELECT DISTINCT "{column}" AS p FROM data)'
    ).fetchall()[0]
    con.close()
    return f"{n} {what}, members {int(fingerprint or 0):016x}"


def findings_json(findings: list[dict]) -> list[dict]:
    return json.loads(json.dumps(findings, default=str))
