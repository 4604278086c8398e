"""risk.json and risk.html: what the steward reads before the development data leave.

The HTML is one self-contained page (charts embedded as PNG): the measures before (and after)
suppression, the distribution of individual risk, the riskiest key combinations, what each key
contributes, the years and the panel. It shows the development data's own key combinations and
counts, nothing more: no sequence numbers, no household ids, no sensitive values, and, when Fk
comes from a full population, no population count per combination (risk in bands only).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from kluis.risk.measure import Measured
from kluis.risk.source import Study

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}.note{color:#555;
font-size:.92em}img{max-width:100%}.bad{color:#a00;font-weight:bold}
"""


def write(
    directory: Path,
    body: dict,
    before: Measured,
    after: Measured | None,
    study: Study,
    *,
    population: bool,
) -> None:
    """risk.json and risk.html into `directory` (a staging directory published whole)."""
    (directory / "risk.json").write_text(
        json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (directory / "risk.html").write_text(
        page(body, before, after, study, population=population), encoding="utf-8"
    )


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def chart_risk_distribution(before: Measured, after: Measured | None) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for m, label, color in (
        (before, "as given", "#c0392b"),
        (after, "after suppression", "#2471a3"),
    ):
        if m is None or not m.histogram:
            continue
        xs = [b for b, _ in m.histogram]
        ys = [c for _, c in m.histogram]
        ax.bar(xs, ys, width=0.02, align="edge", alpha=0.6, label=label, color=color)
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("individual risk of re-identification")
    ax.set_ylabel("records (log scale)")
    ax.legend()
    return _img(_png(fig), "distribution of individual risk")


def chart_top(before: Measured, population: bool) -> str:
    plt = _plt()
    top = before.top[:15]
    if not top:
        return ""
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(top) + 1))
    labels = [", ".join(t["values"].values())[:60] + f"  (fk={t['fk']})" for t in top]
    values = [_band_value(t["risk"]) if population else t["risk"] for t in top]
    ax.barh(range(len(top))[::-1], values, color="#c0392b")
    ax.set_yticks(range(len(top))[::-1], labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("individual risk" + (" (lower bound of its band)" if population else ""))
    return _img(_png(fig), "riskiest key combinations")


def chart_keys(body: dict) -> str:
    plt = _plt()
    contrib = body.get("key_contributions")
    if not contrib:
        return ""
    names = list(contrib)
    uniques = [contrib[n]["sample_uniques_due"] for n in names]
    er = [contrib[n]["expected_reidentifications_due"] for n in names]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.35 * len(names) + 1.2))
    axes[0].barh(names[::-1], uniques[::-1], color="#8e44ad")
    axes[0].set_xlabel("sample uniques the key adds")
    axes[1].barh(names[::-1], er[::-1], color="#d35400")
    axes[1].set_xlabel("expected re-identifications the key adds")
    fig.tight_layout()
    return _img(_png(fig), "what each key contributes")


def chart_years(body: dict) -> str:
    plt = _plt()
    per = body.get("per_year")
    if not per:
        return ""
    years = list(per)
    fig, ax = plt.subplots(figsize=(8, 3))
    x = range(len(years))
    ax.bar(
        [i - 0.2 for i in x], [per[y]["sample_uniques"] for y in years], 0.4, label="sample uniques"
    )
    ax.bar(
        [i + 0.2 for i in x],
        [per[y]["k_violations"][str(body["settings"]["k"])] for y in years],
        0.4,
        label=f"records violating {body['settings']['k']}-anonymity",
    )
    ax.set_xticks(list(x), years)
    ax.legend()
    return _img(_png(fig), "risk per year")


def chart_panel(body: dict) -> str:
    plt = _plt()
    lon = body.get("longitudinal")
    if not lon:
        return ""
    labels = ["persons", "unique in some year", "unique trajectory", "unique over their years"]
    values = [
        lon["persons"],
        lon["unique_in_some_year"],
        lon["unique_trajectory"],
        lon["unique_over_years"],
    ]
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.barh(labels[::-1], values[::-1], color=["#c0392b", "#e67e22", "#f1c40f", "#7f8c8d"])
    ax.set_xlabel("persons")
    return _img(_png(fig), "panel risk")


def _band_value(r: float) -> float:
    for lo in (0.5, 0.2, 0.1, 0.05, 0.01):
        if r >= lo:
            return lo
    return 0.0


def _band(r: float) -> str:
    lo = _band_value(r)
    bounds = {0.5: "0.5-1", 0.2: "0.2-0.5", 0.1: "0.1-0.2", 0.05: "0.05-0.1", 0.01: "0.01-0.05"}
    return bounds.get(lo, "below 0.01")


def _measure_rows(before: dict, after: dict | None, k: int) -> str:
    rows = [
        ("records", "records"),
        ("key_patterns", "key combinations"),
        ("sample_uniques", "sample uniques (fk = 1)"),
        ("sample_pairs", "sample pairs (fk = 2)"),
    ]
    out = []
    for key, label in rows:
        out.append((label, before[key], after[key] if after else None))
    for kk, v in before["k_violations"].items():
        out.append(
            (
                f"records violating {kk}-anonymity (fk < {kk})",
                v,
                after["k_violations"][kk] if after else None,
            )
        )
    out.append(
        (
            "expected re-identifications",
            f"{before['expected_reidentifications']:.2f}",
            f"{after['expected_reidentifications']:.2f}" if after else None,
        )
    )
    out.append(
        (
            "global risk",
            f"{before['global_risk_pct']:.3f}%",
            f"{after['global_risk_pct']:.3f}%" if after else None,
        )
    )
    if "household_expected_reidentifications" in before:
        out.append(
            (
                "expected re-identifications, households",
                f"{before['household_expected_reidentifications']:.2f}",
                f"{after['household_expected_reidentifications']:.2f}" if after else None,
            )
        )
    head = (
        "<tr><th class=l>measure</th><th>as given</th>"
        + ("<th>after suppression</th>" if after else "")
        + "</tr>"
    )
    body = "".join(
        f"<tr><td class=l>{html.escape(label)}</td><td>{html.escape(str(b))}</td>"
        + (f"<td>{html.escape(str(a))}</td>" if after else "")
        + "</tr>"
        for label, b, a in out
    )
    return f"<table>{head}{body}</table>"


def _top_table(before: Measured, study: Study, population: bool) -> str:
    if not before.top:
        return ""
    cols = (["year"] if study.year else []) + list(study.keys)
    head = "".join(f"<th class=l>{html.escape(c)}</th>" for c in cols)
    head += "<th>fk</th>" + ("<th>risk band</th>" if population else "<th>Fk</th><th>risk</th>")
    rows = []
    for t in before.top:
        cells = ([str(t.get("year", ""))] if study.year else []) + [
            t["values"][k] for k in study.keys
        ]
        row = "".join(f"<td class=l>{html.escape(c)}</td>" for c in cells)
        row += f"<td>{t['fk']}</td>"
        row += (
            f"<td>{_band(t['risk'])}</td>"
            if population
            else f"<td>{t['Fk']:.1f}</td><td>{t['risk']:.4f}</td>"
        )
        rows.append(f"<tr>{row}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _kv_table(d: dict) -> str:
    rows = "".join(
        f"<tr><td class=l>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in d.items()
        if not isinstance(v, dict)
    )
    return f"<table>{rows}</table>"


def page(
    body: dict, before: Measured, after: Measured | None, study: Study, *, population: bool
) -> str:
    s = body["settings"]
    k = s["k"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Re-identification risk: {html.escape(body['table'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Re-identification risk of {html.escape(body['table'])}</h1>",
        "<p>"
        + (
            f"Deliberation {html.escape(str(body['deliberation']))}. "
            if body.get("deliberation")
            else ""
        )
        + f"Key variables: <b>{html.escape(', '.join(s['keys']))}</b>; k = {k}; Fk: "
        + html.escape(s["Fk"])
        + ".</p>",
        "<h2>Measures</h2>",
        _measure_rows(body, body.get("after_suppression"), k),
        "<p class=note>fk: records sharing a record's key values (a missing value matches every "
        "value, as in sdcMicro). Individual risk: sdcMicro's <code>indivRisk</code> "
        "(Benedetti-Franconi); the expected number of re-identifications is its sum.</p>",
        "<h2>Distribution of individual risk</h2>",
        chart_risk_distribution(before, after),
        "<h2>The riskiest key combinations</h2>",
        chart_top(before, population),
        _top_table(before, study, population),
    ]
    if population:
        parts.append(
            "<p class=note>Fk comes from the full population: it is not shown per "
            "combination, and the risk only in bands.</p>"
        )
    if body.get("key_contributions"):
        parts += [
            "<h2>What each key contributes</h2>",
            "<p class=note>Sample uniques and expected re-identifications that disappear "
            "when the key is left out: the keys to recode first.</p>",
            chart_keys(body),
        ]
    if body.get("per_year"):
        parts += ["<h2>Per year</h2>", chart_years(body)]
    if body.get("longitudinal"):
        lon = body["longitudinal"]
        parts += [
            "<h2>Panel (longitudinal) risk</h2>",
            f"<p>Of {lon['persons']} persons, <span class=bad>{lon['unique_over_years']}"
            "</span> are unique over their years: no other person has their key values in all "
            f"the years they appear, although only {lon['unique_in_some_year']} are a sample "
            "unique in some single year.</p>",
            chart_panel(body),
            _kv_table(lon),
        ]
    if body.get("l_diversity"):
        parts += ["<h2>l-diversity</h2>", _kv_table(body["l_diversity"])]
    if body.get("suppressions"):
        sup = body["suppressions"]
        parts += [
            "<h2>Local suppression</h2>",
            f"<p>{sup['total']} values suppressed in {sup['records_with_suppressions']} records "
            f"(lower bound {sup['lower_bound']:g}); {html.escape(sup['method'])}. Every released "
            f"key combination is now shared by at least {k} records. Table: "
            f"<code>{html.escape(body.get('protected_table', ''))}</code>.</p>",
            _kv_table(sup["per_key"]),
        ]
    parts.append("</body></html>\n")
    return "\n".join(p for p in parts if p)
