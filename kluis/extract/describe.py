"""What the researcher reads beside the data: datapackage.json and codebook.md.

The data package (Frictionless Data Package) is for tools: one tabular resource per table with
its Parquet files, field types and, for every class, its value labels. The codebook is for
people: the deliberation, the phase, each column's source and coarsening, why some columns are
empty, and the integer codes SPSS/Stata files use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.formats import BOOLEAN_LABELS, stata_names

_FRICTIONLESS_TYPE = {
    "pseudonym": "integer",
    "year": "integer",
    "category": "string",
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "yearmonth": "yearmonth",
    "string": "string",
}


def _field(col: ColumnMeta) -> dict[str, Any]:
    f: dict[str, Any] = {"name": col.name, "type": _FRICTIONLESS_TYPE[col.kind]}
    if col.label:
        f["title"] = col.label
    desc = "; ".join(
        x
        for x in (
            f"source: {col.source}" if col.source else "",
            f"coarsening: {col.coarsening}" if col.coarsening else "",
            col.note,
        )
        if x
    )
    if desc:
        f["description"] = desc
    if col.kind == "category":
        f["categories"] = [
            {"value": v, "label": lab, "code": i + 1} for i, (v, lab) in enumerate(col.categories)
        ]
        f["constraints"] = {"enum": [v for v, _ in col.categories]}
    if col.kind == "boolean":
        f["categories"] = [
            {"value": bool(k), "label": v, "code": k} for k, v in BOOLEAN_LABELS.items()
        ]
    if col.kind == "pseudonym":
        f["constraints"] = {"required": True, "minimum": 1}
    return f


def datapackage(
    info: Mapping[str, Any], tables: list[OutputTable], files: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The Frictionless descriptor. `files[table]` lists its Parquet paths (relative, sorted)."""
    resources = []
    for t in tables:
        resources.append(
            {
                "name": t.name,
                "profile": "tabular-data-resource",
                "path": files[t.name],
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "description": t.description,
                "schema": {
                    "fields": [_field(c) for c in t.columns],
                    "primaryKey": list(t.sort_by),
                },
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": f"kluis-{info['deliberation_slug']}-{info['phase']}",
        "title": info["title"],
        "description": (
            f"Pseudonymised extract under deliberation {info['deliberation']} "
            f"({info['phase']} phase). Destroy at the latest on {info['retention']}."
        ),
        "keywords": ["pseudonymised", f"deliberation {info['deliberation']}"],
        "resources": resources,
    }


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codebook(
    info: Mapping[str, Any],
    tables: list[OutputTable],
    rows: Mapping[str, Mapping[int, int]],
    formats: tuple[str, ...],
) -> str:
    """A readable Markdown codebook."""
    out: list[str] = [
        f"# Codebook — deliberation {info['deliberation']}",
        "",
        f"**{info['title']}**",
        "",
        f"- Recipient: {info['recipient']}",
        f"- Phase: {info['phase']} ({info['phase_description']})",
        f"- Retention: destroy at the latest on {info['retention']}",
        f"- Warehouse: {info['warehouse_id']}",
        f"- Pseudonymisation key fingerprint: {info['key_fingerprint']}",
        f"- Formats: {', '.join(formats)}",
        "",
        "Persons are identified only by a meaningless sequence number, the same in every year "
        "and table of this extract. It cannot be linked to any other project.",
        "",
        "In the SPSS (.sav) and Stata (.dta) files every class is stored as an integer code "
        "with a value label; the codes are listed below (code i is the i-th class). Booleans "
        "are 0 = no, 1 = yes. Empty cells are system-missing (empty strings in Stata).",
        "",
    ]
    for t in tables:
        out += [f"## Table `{t.name}`", "", t.description, ""]
        out += ["| year | rows |", "|---|---|"]
        out += [f"| {y} | {n:,} |" for y, n in sorted(rows[t.name].items())]
        out.append("")
        for note in t.notes:
            out.append(f"- {note}")
        for y in sorted(t.year_notes):
            for note in t.year_notes[y]:
                out.append(f"- {y}: {note}")
        renamed = {k: v for k, v in stata_names(t).items() if k != v}
        if renamed and "dta" in formats:
            out.append(
                "- Stata names are limited to 32 characters (fewer with many value labels); "
                "in the .dta files these columns are renamed: "
                + ", ".join(f"`{k}` → `{v}`" for k, v in renamed.items())
            )
        if t.notes or t.year_notes or (renamed and "dta" in formats):
            out.append("")
        out += [
            "| column | label | type | source | coarsening | note |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            cells = (c.name, c.label, c.kind, c.source, c.coarsening, c.note)
            out.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
        out.append("")
        for c in t.columns:
            if c.kind != "category":
                continue
            out += [f"### `{c.name}` — values", "", "| code | value | label |", "|---|---|---|"]
            out += [
                f"| {i + 1} | {_md_escape(v)} | {_md_escape(lab)} |"
                for i, (v, lab) in enumerate(c.categories)
            ]
            out.append("")
    return "\n".join(out) + "\n"
