"""From microdata and a spec to a protected table, per-cell statuses and the attacker's audit.

cells -> primary rules -> protection (suppression, rounding or cell-key noise) -> audit, then
(optionally) the audit across earlier releases and the differencing check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kluis.disclosure.attacker import Check, witnessed
from kluis.disclosure.cells import CellTable, compute_cells
from kluis.disclosure.primary import Primary, primary
from kluis.disclosure.rounding import cell_key_noise, round_to_base
from kluis.disclosure.spec import TableSpec
from kluis.disclosure.suppress import System, suppress

#: above this many hidden cells the final audit certifies protection without exact intervals
EXACT_AUDIT_LIMIT = 1000


@dataclass
class Protected:
    """A protected table with everything the report and the release history need."""

    cells: CellTable
    primary: Primary
    systems: list[System]
    hidden: np.ndarray
    published: dict[str, np.ndarray]  # per system: the published value (NaN when hidden)
    pub_low: dict[str, np.ndarray | None]
    pub_high: dict[str, np.ndarray | None]
    audit: dict[str, Check]
    method: str
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    history_findings: list[dict] = field(default_factory=list)
    members: pd.DataFrame | None = None  # (person, leaf cell, ...), computed for the history
    deliberation: str | None = None  # slug of the deliberation whose rules were applied
    rules_source: str = "the spec's rules"

    @property
    def spec(self) -> TableSpec:
        return self.cells.spec

    @property
    def status(self) -> np.ndarray:
        st = np.where(self.hidden, "secondary", "safe").astype(object)
        st[self.primary.unsafe] = "primary"
        return st

    @property
    def ok(self) -> bool:
        audit_ok = all(not c.violated.any() for c in self.audit.values())
        return audit_ok and not any(f["severity"] == "error" for f in self.history_findings)

    def statistic_values(self) -> np.ndarray:
        """The statistic shown per cell (count, sum, mean, min, max or percentile)."""
        s, spec = self.cells.stats, self.spec
        count = self.published["count"]
        if spec.statistic == "count":
            return count
        if spec.statistic == "sum":
            return self.published["total"]
        if spec.statistic == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                return self.published["total"] / np.where(
                    s["weighted"].to_numpy() > 0, s["weighted"].to_numpy(), np.nan
                )
        col = {"min": "vmin", "max": "vmax", "quantile": "quant"}[spec.statistic]
        return np.where(self.hidden, np.nan, s[col].to_numpy())

    def frame(self) -> pd.DataFrame:
        """The protected table: one row per cell, hidden values empty, sorted by cell."""
        ts = self.cells.structure
        coords = ts.coords()
        out = pd.DataFrame(index=pd.RangeIndex(ts.n_cells, name="cell"))
        for k, d in enumerate(ts.dims):
            nodes = np.array([n[1] for n in d.nodes], dtype=object)
            out[d.name] = nodes[coords[:, k]]
            if d.levels:
                levels = np.array([n[0] for n in d.nodes], dtype=object)
                out[f"{d.name}_level"] = levels[coords[:, k]]
        out["persons"] = self.published["count"]
        if self.spec.statistic != "count":
            out[self.spec.statistic] = self.statistic_values()
        out["status"] = self.status
        return out

    def public_frame(self) -> pd.DataFrame:
        """What may leave: the table with hidden values empty and marked "suppressed", without
        telling which hidden cells are small (primary) and which protect them."""
        out = self.frame()
        out["status"] = np.where(self.hidden, "suppressed", "published")
        return out

    def status_frame(self) -> pd.DataFrame:
        """Per-cell status, reason and, for hidden cells, what the attacker can learn.

        For the checker only (it tells which hidden cells are small). Still, nothing in it lets
        a hidden value be computed: an interval is shown only where it is the attacker's own
        (both bounds solved by LP over what is published); elsewhere the audit certified that
        the attacker cannot narrow the cell below the protection the rules require, and the
        file says so without numbers (a bound derived from the true value would give it away).
        """
        out = self.frame().drop(columns=["persons", self.spec.statistic], errors="ignore")
        out["reason"] = np.where(
            self.primary.unsafe,
            self.primary.reason,
            np.where(self.hidden, "complementary suppression", ""),
        )
        for name, chk in self.audit.items():
            iv = chk.intervals
            shown = self.hidden & iv.exact
            out[f"{name}_attacker_low"] = np.where(shown, iv.low, np.nan)
            out[f"{name}_attacker_high"] = np.where(shown, iv.high, np.nan)
            out[f"{name}_interval"] = np.where(
                shown, "attacker (LP)", np.where(self.hidden, "certified", "")
            )
            out[f"{name}_protected"] = np.where(
                self.primary.unsafe,
                np.where(chk.violated, "no", "yes"),
                np.where(self.hidden, "yes", ""),
            )
        return out


def _systems(ct: CellTable, pr: Primary, notes: list[str]) -> list[System]:
    s, ts, spec = ct.stats, ct.structure, ct.spec
    m = ts.relations()
    count = s["weighted"].to_numpy()
    if m.shape[0] and np.abs(m @ count).max() > 1e-6 * max(1.0, count.max()):
        # persons in several leaf cells (a person with two jobs): distinct persons are not
        # additive, so the published count is the number of records
        count = s["rows"].to_numpy(dtype=float)
        notes.append(
            "some persons fall in several cells: counts are records (rows); the minimum "
            "frequency rule still counts distinct persons"
        )
    systems = [System("count", count, pr.up["count"], pr.lo["count"], lower=0.0)]
    if spec.magnitude:
        total = s["total"].to_numpy()
        lower = 0.0 if np.nanmin(s["vmin"].to_numpy()) >= 0 else -np.inf
        systems.append(System("total", total, pr.up["total"], pr.lo["total"], lower=lower))
    return systems


def protect(source: Any, spec: TableSpec, exact_audit: bool | None = None) -> Protected:
    """Compute, check and protect the table `spec` describes over the microdata `source`."""
    t0 = time.perf_counter()
    ct = compute_cells(source, spec)
    pt = _protect_cells(ct, primary(ct), exact_audit)
    pt.seconds["cells"] = time.perf_counter() - t0 - pt.seconds["protect"] - pt.seconds["audit"]
    return pt


def reprotect(pt: Protected, extra: dict[int, float], reason: str) -> Protected:
    """The same table with more cells to hide and protect (by `amount` each, in persons):
    cells that earlier releases make revealing. Hiding more never helps the attacker, so the
    table stays protected on its own; secondary suppression keeps these cells from being
    recomputed from the table's margins."""
    pr = pt.primary
    unsafe, reason_of = pr.unsafe.copy(), pr.reason.copy()
    up = {k: v.copy() for k, v in pr.up.items()}
    lo = {k: v.copy() for k, v in pr.lo.items()}
    for cell, amount in extra.items():
        if not unsafe[cell]:
            reason_of[cell] = reason
        unsafe[cell] = True
        up["count"][cell] = max(up["count"][cell], amount)
        lo["count"][cell] = max(lo["count"][cell], amount)
    # everything hidden so far stays hidden: each round only adds, so what an audit certified
    # before still holds
    new = _protect_cells(pt.cells, Primary(unsafe, reason_of, up, lo), None, keep=pt.hidden)
    new.seconds["cells"] = pt.seconds.get("cells", 0.0)
    for k in ("deliberation", "rules_source", "members"):
        setattr(new, k, getattr(pt, k))
    return new


def _protect_cells(
    ct: CellTable, pr: Primary, exact_audit: bool | None, keep: np.ndarray | None = None
) -> Protected:
    """Protection and audit of a table whose cells and primary rules are known (`keep`: cells
    that stay hidden)."""
    spec = ct.spec
    t1 = time.perf_counter()
    notes: list[str] = []
    if spec.count_column:
        notes.append(
            "aggregated input: the frequency rule uses the given counts, which may count "
            "records rather than distinct persons (weaker than microdata input)"
        )
    systems = _systems(ct, pr, notes)
    ts = ct.structure
    m = ts.relations()
    hidden = pr.unsafe.copy() if keep is None else pr.unsafe | keep
    witnesses: list = []
    certified: dict[str, Check] = {}
    pub_low: dict[str, np.ndarray | None] = {s.name: None for s in systems}
    pub_high: dict[str, np.ndarray | None] = {s.name: None for s in systems}
    shown = {s.name: s.values.copy() for s in systems}
    method = spec.method
    if spec.method == "round":
        r, lo, hi = round_to_base(systems[0].values, spec.round_base)
        shown["count"], pub_low["count"], pub_high["count"] = r, lo, hi
    elif spec.method == "cellkey":
        r, lo, hi = cell_key_noise(
            systems[0].values, ct.stats["cell_key"].to_numpy(), spec.cellkey.max_noise
        )
        shown["count"], pub_low["count"], pub_high["count"] = r, lo, hi
    if systems and m.shape[0]:
        need_more = spec.method == "suppress"
        if not need_more:
            for s in systems:
                chk = s.check(m, hidden, pub_low[s.name], pub_high[s.name], exact=False)
                need_more |= bool(chk.violated.any())
            if need_more:
                notes.append(f"{spec.method}: not enough on its own; complementary cells hidden")
        if need_more:
            res = suppress(ts, systems, pr.unsafe, already_hidden=keep)
            hidden = res.hidden
            witnesses = res.witnesses
            certified = res.checks
            method = f"{spec.method} ({res.method})"
            notes += res.log
    t2 = time.perf_counter()
    if exact_audit is None:
        exact_audit = int(hidden.sum()) <= EXACT_AUDIT_LIMIT
    if not exact_audit:
        notes.append(
            f"{int(hidden.sum())} hidden cells: the audit certified every protection interval "
            "but computed exact attacker intervals only where it needed them"
        )
    audit = {}
    for s in systems:
        if not exact_audit and pub_low[s.name] is None and s.name in certified:
            # the suppression loop ended on this very audit of the final pattern (same call,
            # same arguments): reuse it rather than solve the same LPs twice
            audit[s.name] = certified[s.name]
            continue
        w_up = w_dn = None
        if not exact_audit and pub_low[s.name] is None:
            w_up, w_dn = witnessed(m, s.values, hidden, s.lower, s.up, s.lo, witnesses)
        audit[s.name] = s.check(
            m,
            hidden,
            pub_low[s.name],
            pub_high[s.name],
            exact=exact_audit,
            witnessed_up=w_up,
            witnessed_down=w_dn,
        )
    t3 = time.perf_counter()
    published = {k: np.where(hidden, np.nan, v) for k, v in shown.items()}
    if not systems:
        published["count"] = np.where(hidden, np.nan, ct.stats["weighted"].to_numpy())
    return Protected(
        cells=ct,
        primary=pr,
        systems=systems,
        hidden=hidden,
        published=published,
        pub_low=pub_low,
        pub_high=pub_high,
        audit=audit,
        method=method,
        notes=notes,
        seconds={"cells": 0.0, "protect": t2 - t1, "audit": t3 - t2},
    )
