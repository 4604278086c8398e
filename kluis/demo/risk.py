"""Demo stage: the re-identification risk of the 26/104 development extract before it leaves,
per year and over the years (the panel), and what local suppression does to it.

Fk comes from the 26/104 full extract (the population the sample was drawn from); the key
variables, k and the person column from the deliberation's `risk:` section.
"""

from __future__ import annotations

import json

from rich.table import Table

from kluis.demo.context import Demo

DELIBERATION = "deliberations/26-104.yaml"


def run(demo: Demo) -> list[str]:
    ex = demo.out / "extracts"
    out = demo.out / "risk" / "26-104-development"
    demo.kluis(
        "26/104 phase 1: re-identification risk per year and over the years, suppressed to k",
        [
            "risk",
            str(ex / "26-104-development" / "table1_next"),
            "--deliberation",
            DELIBERATION,
            "--population",
            str(ex / "26-104-full" / "table1_next"),
            "--suppress",
            "--out",
            str(out),
        ],
    )
    body = json.loads((out / "risk.json").read_text(encoding="utf-8"))
    demo.console.print(summary_table(body))
    return [f"Re-identification risk (26/104 dev):  {out}/risk.html"]


def summary_table(body: dict) -> Table:
    """Per year: uniques, records below k and expected re-identifications, before and after
    suppression; the panel in the caption."""
    k = str(body["settings"]["k"])
    after = body.get("after_suppression", {})
    t = Table(title=f"26/104 development extract, k = {k}")
    for col in (
        "year",
        "records",
        "uniques",
        "below k",
        "exp. re-id.",
        "after: below k",
        "after: exp. re-id.",
    ):
        t.add_column(col, justify="right")
    for year, m in body.get("per_year", {}).items():
        a = after.get("per_year", {}).get(year)
        t.add_row(
            year,
            f"{m['records']:,}",
            f"{m['sample_uniques']:,}",
            f"{m['k_violations'][k]:,}",
            f"{m['expected_reidentifications']:.1f}",
            f"{a['k_violations'][k]:,}" if a else "",
            f"{a['expected_reidentifications']:.1f}" if a else "",
        )
    lon, lon_after = body.get("longitudinal"), after.get("longitudinal")
    if lon:
        t.caption = (
            f"panel: {lon['persons']:,} persons; unique over their years "
            f"{lon['unique_over_years']:,}"
            + (f" ({lon_after['unique_over_years']:,} after suppression)" if lon_after else "")
            + f"; a sample unique in some year {lon['unique_in_some_year']:,}"
        )
    return t
