"""What the researcher reads beside the data: datapackage.json and codebook.md.

The data package (Frictionless Data Package) is for tools: one tabular resource per table with
its Parquet files, field types and, for every class, its value labels. The codebook is for
people: the deliberation, the phase, what one row of each table is (a person in a year, or an
employer × cell aggregate), one compact line per column (label, type, source, coarsening, allowed
values), why some columns are empty, and, once per distinct list, the values with the integer
codes SPSS/Stata files use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kluis import codes as code_lists
from kluis.extract.context import TABLE_UNITS, ColumnMeta, OutputTable
from kluis.extract.delivery.formats import BOOLEAN_LABELS, stata_names

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


def row_key(t: OutputTable) -> tuple[str, ...]:
    """What identifies a row of the table over all its years: `sort_by` identifies a row of
    one year's file (e.g. the pseudonym); the year is added when it is a column."""
    if "year" in t.column_names and "year" not in t.sort_by:
        return (*t.sort_by, "year")
    return tuple(t.sort_by)


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
                    "primaryKey": list(row_key(t)),
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


Categories = tuple[tuple[str, str], ...]

# a column's values in one phrase, for kinds without a value list
_VALUES = {
    "pseudonym": "1 … N (sequence number)",
    "year": "YYYY",
    "boolean": "no / yes (0 / 1 in SPSS, Stata)",
    "yearmonth": "YYYY-MM",
}
_ABBREVIATE = 6  # value lists longer than this are summarised as first … last


def _code_list_name(categories: Categories) -> str | None:
    """The warehouse code list these categories are, exactly (value, label and order)."""
    for name in code_lists.names():
        rows = code_lists.load(name).rows
        if len(rows) == len(categories) and all(
            (r["code"], r["label"]) == c for r, c in zip(rows, categories, strict=True)
        ):
            return name
    return None


ValueLists = dict[str, tuple[Categories, dict[str, list[str]]]]


def _value_lists(tables: list[OutputTable]) -> ValueLists:
    """Each distinct list of categories once: name -> (categories, {table: [columns]}). Named
    after the coarsening scheme that made it, else the code list it is, else its first column."""
    lists: ValueLists = {}
    for t in tables:
        for c in t.columns:
            if c.kind != "category":
                continue
            name = _list_of(c, lists)
            if name is None:
                if c.coarsening and c.coarsening != "none":
                    base = c.coarsening
                else:
                    base = _code_list_name(c.categories) or c.name
                name, n = base, 1
                while name in lists:
                    n += 1
                    name = f"{base}_{n}"
                lists[name] = (c.categories, {})
            lists[name][1].setdefault(t.name, []).append(c.name)
    return lists


def _list_of(col: ColumnMeta, lists: ValueLists) -> str | None:
    for name, (categories, _users) in lists.items():
        if categories == col.categories:
            return name
    return None


def _values(col: ColumnMeta, lists: ValueLists) -> str:
    if col.kind != "category":
        return _VALUES.get(col.kind, "")
    values = [v for v, _ in col.categories]
    if len(values) > _ABBREVIATE:
        shown = f"{values[0]}, {values[1]} … {values[-1]}"
    else:  # short lists in full, with labels where they say more than the value
        shown = ", ".join(v if v == lab else f"{v} = {lab}" for v, lab in col.categories)
    return f"list `{_list_of(col, lists)}`: {len(values)} values ({shown})"


def _who(col: ColumnMeta, table: OutputTable) -> str:
    if col.source == "pseudonym.person" or (not col.source and table.unit == "person-year"):
        return "Persons"
    if col.source == "pseudonym.employer" or table.unit.startswith("employer"):
        return "Employers"
    return "The units of the rows"


def _identification(tables: list[OutputTable]) -> list[str]:
    """How rows are identified, said for the units this extract actually has."""
    seen: dict[str, str] = {}
    for t in tables:
        for c in t.columns:
            if c.kind == "pseudonym":
                seen.setdefault(c.name, _who(c, t))
    out = [
        f"{who} are identified only by a meaningless sequence number (`{name}`), the same in "
        "every year and table of this extract. It cannot be linked to any other project."
        for name, who in seen.items()
    ]
    if tables and all(t.unit.startswith("employer") for t in tables):
        out.append(
            "No row of this extract describes a person: every row is an aggregate of the "
            "employees of one employer (see what one row is, per table)."
        )
    return out


def _row_unit(t: OutputTable) -> str:
    if t.unit:
        return TABLE_UNITS[t.unit]
    return "one combination of " + ", ".join(f"`{k}`" for k in row_key(t))


def codebook(
    info: Mapping[str, Any],
    tables: list[OutputTable],
    rows: Mapping[str, Mapping[int, int]],
    formats: tuple[str, ...],
) -> str:
    """A readable Markdown codebook: per table what one row is and one line per column; each
    distinct value list (with its SPSS/Stata codes) once, at the end."""
    lists = _value_lists(tables)
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
        "| table | one row is | key | years | rows |",
        "|---|---|---|---|---|",
    ]
    for t in tables:
        years = sorted(rows[t.name])
        span = "" if not years else f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        key = ", ".join(f"`{k}`" for k in row_key(t))
        total = f"{sum(rows[t.name].values()):,}"
        out.append(f"| `{t.name}` | {_md_escape(_row_unit(t))} | {key} | {span} | {total} |")
    out += ["", *(f"{line}\n" for line in _identification(tables))]
    out += [
        "Each table lists its columns with label, type, source, coarsening and values. A class "
        "column names its value list; every list is given once, under *Value lists* at the end, "
        "with the integer codes of the SPSS (.sav) and Stata (.dta) files (code i is the i-th "
        "value). Booleans are 0 = no, 1 = yes there. Empty cells are system-missing (empty "
        "strings in Stata).",
        "",
    ]
    for t in tables:
        out += [f"## Table `{t.name}`", "", f"**One row is {_md_escape(_row_unit(t))}.**", ""]
        if t.description:
            out += [t.description, ""]
        out += [
            "Rows per year: " + ", ".join(f"{y}: {n:,}" for y, n in sorted(rows[t.name].items())),
            "",
        ]
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
        noted = any(c.note for c in t.columns)  # a note column only where a column has one
        head = ["column", "label", "type", "source", "coarsening", "values"] + ["note"] * noted
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in t.columns:
            cells = [c.name, c.label, c.kind, c.source, c.coarsening, _values(c, lists)]
            if noted:
                cells.append(c.note)
            out.append("| " + " | ".join(_md_escape(x) for x in cells) + " |")
        out.append("")
    if lists:
        out += ["## Value lists", ""]
    for name, (categories, users) in lists.items():
        used = "; ".join(
            ", ".join(f"`{c}`" for c in columns) + f" (table `{table}`)"
            for table, columns in users.items()
        )
        out += [f"### `{name}`", "", f"Used by {used}.", ""]
        out += ["| code | value | label |", "|---|---|---|"]
        out += [
            f"| {i + 1} | {_md_escape(v)} | {_md_escape(lab)} |"
            for i, (v, lab) in enumerate(categories)
        ]
        out.append("")
    return "\n".join(out) + "\n"
