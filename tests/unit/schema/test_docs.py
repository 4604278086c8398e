"""docs/warehouse.md is generated from the schema and code lists, and the committed file is
exactly what the generator renders now."""

from __future__ import annotations

import re

from kluis import codes as code_lists
from kluis.schema import TABLES, docs


def test_committed_codebook_is_up_to_date() -> None:
    assert docs.DOC_PATH.read_text(encoding="utf-8") == docs.render(), (
        "docs/warehouse.md is stale: run python -m kluis.schema.docs"
    )
    assert docs.main(["--check"]) == 0


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    return text[start : nxt if nxt >= 0 else None]


def test_every_column_is_documented_with_type_nullability_and_constraints() -> None:
    text = docs.render()
    for t in TABLES:
        sec = _section(text, f"## Table `{t.name}`")
        for c in t.columns:
            (row,) = [line for line in sec.splitlines() if line.startswith(f"| `{c.name}` |")]
            cells = [x.strip() for x in row.strip("|").split(" | ")]
            assert cells[1] == c.type
            assert cells[2] == ("yes" if c.nullable else "not null")
            if c.codes:
                assert f"#code-list-{c.codes}" in cells[5]
            if c.references:
                assert c.references in cells[4]
            if c.max is not None:
                assert re.search(r"\bto\b|<=", cells[4])


def test_every_used_code_list_is_listed_with_all_labels() -> None:
    text = docs.render()
    used = {c.codes for t in TABLES for c in t.columns if c.codes}
    for name in used:
        sec = text[text.index(f"### Code list {name}\n") :]
        sec = sec[: sec.find("\n### ", 1) if "\n### " in sec[1:] else None]
        for row in code_lists.load(name).rows:
            label = row["label"].replace("|", "\\|")
            assert f"| {row['code']} | {label} |" in sec


def test_anchors_resolve() -> None:
    text = docs.render()
    headings = {
        re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, flags=re.M)
    }
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in headings, anchor
