"""HTML report of a protected table for the output checker: statuses, reasons, audit, history."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from jinja2 import Environment

from kluis.disclosure.linear import TOTAL
from kluis.disclosure.rules import describe

MAX_ROWS = 3000

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kluis: {{ name }}</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee}
.safe{background:#e6f4e6}.primary{background:#f8c9c4}.secondary{background:#fde3b0}
.verdict-ok{color:#176f17}.verdict-bad{color:#a3160b}
.internal{background:#a3160b;color:#fff;padding:.6em 1em;font-weight:bold}
</style></head><body>
<p class="internal">INTERNAL &mdash; NOT FOR RELEASE. For the output checker only: it tells which
hidden cells are small. What may leave is the table in the public directory.</p>
<h1>Small cell risk analysis: {{ name }}</h1>
<p>Population: {{ population }}{% if population_filter %} ({{ population_filter }}){% endif %}.
Statistic: {{ statistic }}. Method: {{ method }}.
Rules of {{ rules_source }}: {{ rules }}.</p>
<p>Attacker's intervals: "attacker (LP)" rows show the bounds the attacker's linear program
reaches over everything published; "certified" rows were shown to keep at least the protection
the rules require, without computing the exact bounds (no numbers are shown for them: a bound
derived from the true value would give it away).</p>
<h2 class="{{ 'verdict-ok' if ok else 'verdict-bad' }}">
{{ 'May be released' if ok else 'May NOT be released' }}</h2>
<ul>
<li>{{ counts.safe }} safe cells, {{ counts.primary }} unsafe (primary),
{{ counts.secondary }} hidden to protect them (secondary), of {{ total }}.</li>
{% for name, a in audits.items() %}
<li>Attacker's audit ({{ name }}): {{ a.lp }} linear programs over {{ a.components }}
component(s) of hidden cells (largest {{ a.largest }}); {{ a.violated }} cell(s) below their
protection, {{ a.recoverable }} unsafe cell(s) exactly recoverable{% if a.recoverable_secondary %};
{{ a.recoverable_secondary }} complementary cell(s) can be recomputed from the published cells
(they reveal no unsafe cell: hiding them protects nothing){% endif %}.</li>
{% endfor %}
<li>Time: {% for k, v in seconds.items() %}{{ k }} {{ '%.2f' % v }} s; {% endfor %}</li>
</ul>
{% if notes %}<h3>Notes</h3><ul>{% for x in notes %}<li>{{ x }}</li>{% endfor %}</ul>{% endif %}
{% if findings %}<h3>Across releases</h3><table><tr><th>kind</th><th>cell</th><th>finding</th></tr>
{% for f in findings %}<tr><td>{{ f.kind }}</td><td>{{ f.cell }}</td><td>{{ f.detail }}</td></tr>
{% endfor %}</table>{% endif %}
{% if heat %}<h2>{{ heat_title }}</h2>{{ heat|safe }}{% endif %}
<h2>Cells{% if truncated %} (first {{ max_rows }} of {{ total }}; all are in the status file)
{% endif %}</h2>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in rows %}<tr class="{{ r.status }}">{% for v in r.cells %}<td>{{ v }}</td>{% endfor %}
</tr>{% endfor %}</table>
</body></html>
"""


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return ""
        if np.isinf(v):  # an attacker's interval without an upper (or lower) bound
            return "∞" if v > 0 else "−∞"
        return f"{v:,.2f}" if abs(v - round(v)) > 1e-9 else f"{v:,.0f}"
    return str(v)


def _labels(pt) -> dict[str, dict[str, str]]:
    """Code -> "code label" per dimension that names a code list: checkers read names."""
    from kluis import codes

    out = {}
    for d in pt.spec.dimensions:
        if d.codelist is not None:
            out[d.column] = {c: f"{c} {lab}" for c, lab in codes.load(d.codelist).labels().items()}
    return out


def _heat(pt, names: dict[str, dict[str, str]]) -> tuple[str, str]:
    """The first two dimensions as a coloured grid (other dimensions at their totals)."""
    ts = pt.cells.structure
    if len(ts.dims) < 2:
        return "", ""
    f = pt.frame()
    for d in ts.dims[2:]:
        f = f[f[d.name] == TOTAL] if d.total else f
    a, b = ts.dims[0].name, ts.dims[1].name
    la, lb = names.get(a, {}), names.get(b, {})
    val = pt.spec.statistic if pt.spec.statistic != "count" else "persons"
    parts = ["<table><tr><th></th>"]
    cols = list(dict.fromkeys(f[b]))
    parts += [f"<th>{html.escape(str(lb.get(c, c)))}</th>" for c in cols]
    parts.append("</tr>")
    for ra, g in f.groupby(a, sort=False):
        cells = {r[b]: r for _, r in g.iterrows()}
        parts.append(f"<tr><th>{html.escape(str(la.get(ra, ra)))}</th>")
        for c in cols:
            r = cells.get(c)
            if r is None:
                parts.append("<td></td>")
                continue
            shown = "&times;" if r["status"] != "safe" else _fmt(r[val])
            parts.append(f'<td class="{r["status"]}">{shown}</td>')
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts), f"{a} by {b}" + (
        " (other dimensions: total)" if len(ts.dims) > 2 else ""
    )


def render(pt) -> str:
    """The report as one self-contained HTML page."""
    st = pt.status_frame()
    fr = pt.frame()
    table = st.copy()
    for c in fr.columns:
        if c not in table:
            table[c] = fr[c]
    truncated = len(table) > MAX_ROWS
    order = np.argsort(
        table["status"].map({"primary": 0, "secondary": 1, "safe": 2}).to_numpy(), kind="stable"
    )
    table = table.iloc[order[:MAX_ROWS]].copy()
    names = _labels(pt)
    for col, labelled in names.items():
        table[col] = [labelled.get(v, v) for v in table[col]]
    counts = pd.Series(pt.status).value_counts()
    heat, heat_title = _heat(pt, names) if pt.cells.n_cells <= 20000 else ("", "")
    audits = {
        name: {
            "lp": c.intervals.n_lp,
            "components": c.intervals.n_components,
            "largest": c.intervals.largest_component,
            "violated": int(c.violated.sum()),
            "recoverable": int((c.recoverable & pt.primary.unsafe).sum()),
            "recoverable_secondary": int((c.recoverable & ~pt.primary.unsafe).sum()),
        }
        for name, c in pt.audit.items()
    }
    env = Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        name=pt.spec.name,
        population=pt.spec.population,
        population_filter=pt.spec.population_filter,
        statistic=pt.spec.statistic,
        method=pt.method,
        rules_source=getattr(pt, "rules_source", "the spec"),
        rules=describe(pt.spec.rules),
        ok=pt.ok,
        counts={k: int(counts.get(k, 0)) for k in ("safe", "primary", "secondary")},
        total=pt.cells.n_cells,
        audits=audits,
        seconds=pt.seconds,
        notes=pt.notes,
        findings=pt.history_findings,
        heat=heat,
        heat_title=heat_title,
        truncated=truncated,
        max_rows=MAX_ROWS,
        columns=list(table.columns),
        rows=[
            {"status": r["status"], "cells": [_fmt(v) for v in r.to_numpy()]}
            for _, r in table.iterrows()
        ],
    )
