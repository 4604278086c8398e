"""What the checker is shown: the grid from the enclave's files, previews of review outputs."""

from __future__ import annotations

import csv

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.review import open_request
from kluis.review.files import preview
from kluis.review.grid import fmt, read_table
from kluis.review.store import find_requests
from kluis.review.views import output_page
from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, XSS, make_request


def test_the_grid_has_every_cell_of_the_status_file_with_its_status_and_interval(review_env):
    d = make_request(review_env)
    files = open_request(d).request.output(TABLE).files
    status_csv, output_csv = d / files["status"], d / files["output"]
    status = pd.read_csv(status_csv, dtype=str)
    published = pd.read_csv(output_csv, dtype=str)
    view = read_table(status_csv, output_csv)
    assert view.dims == ["province", "sex"]
    assert len(view.cells) == len(status)
    drawn = [c for g in view.grids for _, row in g.rows for c in row if c is not None]
    assert len(drawn) == len(status)  # every cell once
    for c in view.cells:
        row = status[(status.province == c.key[0]) & (status.sex == c.key[1])].iloc[0]
        assert c.status == row.status
        if c.hidden:
            assert c.value == ""  # a hidden value is never drawn
            assert c.reason in c.title
            if pd.isna(row.count_attacker_low):  # protection certified, no exact interval shown
                assert getattr(row, "count_interval", "") == "certified"
                assert c.certified == ("count",) and "certified" in c.title
            else:
                lo, hi = float(row.count_attacker_low), float(row.count_attacker_high)
                assert c.intervals["count"] == (fmt(str(lo)), fmt(str(hi)))
                assert "attacker's interval" in c.title
        else:
            pub = published[(published.province == c.key[0]) & (published.sex == c.key[1])]
            assert c.value == fmt(pub.persons.iloc[0])
    assert view.counts["primary"] >= 1 and view.counts["secondary"] >= 1
    # totals come last in both directions, labels from the code lists
    grid = view.grids[0]
    assert grid.rows[-1][0] == "Total" and grid.columns[-1] == "Total"
    assert grid.rows[0][0] == "10000 Antwerp" and grid.columns[0] == "1 Male"


def test_three_dimensions_give_one_grid_per_layer(tmp_path):
    rows = [
        {"a": a, "b": b, "c": c, "status": "safe", "reason": ""}
        for a in ("x", "y", "Total")
        for b in ("1", "2", "Total")
        for c in ("p", "q", "Total")
    ]
    path = tmp_path / "s.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    view = read_table(path, None)
    assert [g.layer for g in view.grids] == ["c = Total", "c = p", "c = q"]
    assert all(len(g.rows) == 3 and len(g.columns) == 3 for g in view.grids)


def test_the_pspp_preview_marks_the_enclaves_flag_and_other_small_numbers(review_env, tmp_path):
    d = make_request(review_env)
    rr = open_request(d)
    page = output_page(find_requests(review_env), rr, PSPP)
    ((ref, pv),) = page.previews
    assert pv.kind == "table" and pv.flagged_count == 1
    cells = {(b.title, c.text): c for b in pv.blocks for r in b.rows for c in r}
    three = cells[(f"sex × province {XSS}", "3")]
    assert three.flag == "flagged" and "below the minimum cell" in three.title
    assert cells[(f"sex × province {XSS}", "12")].flag == ""
    # without the enclave's flag the scan still marks a count of 3 for a second look
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("Table: x\n,a,b\nrow,3,250\n")
    pv = preview(csv_path, "t.csv", [], 10)
    assert [c.flag for c in pv.blocks[0].rows[1]] == ["", "small", ""]


def test_an_html_table_is_parsed_not_rendered(tmp_path):
    path = tmp_path / "out.html"
    path.write_text(
        "<html><script>alert(1)</script><table><caption>Freq <b>sex</b></caption>"
        "<tr><th>sex</th><th>n</th></tr><tr><td>Male</td><td>4</td></tr>"
        f"<tr><td>{XSS}</td><td>99</td></tr></table></html>"
    )
    pv = preview(path, "out.html", [], 10)
    assert pv.kind == "table"
    block = pv.blocks[0]
    assert block.title == "Freq sex"
    assert [c.text for c in block.rows[1]] == ["Male", "4"] and block.rows[1][1].flag == "small"
    assert all("alert" not in c.text for r in block.rows for c in r)  # script and tags gone


def test_images_are_recognised_by_their_bytes_not_their_name(review_env, tmp_path):
    d = make_request(review_env)
    assert preview(d / "outputs" / "age.png", "age.png", [], 10).kind == "image"
    fake = tmp_path / "fake.png"
    fake.write_text("<svg onload=alert(1)>")
    assert preview(fake, "fake.png", [], 10).kind == "text"
    svg = tmp_path / "f.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>')
    assert preview(svg, "f.svg", [], 10).kind == "text"


def test_the_output_page_has_the_development_twin_and_the_code(review_env):
    make_request(review_env, "dev", phase="development", seed=5, created="2026-10-01T00:00:00Z")
    make_request(review_env, "other-dev", project="another project", phase="development")
    d = make_request(review_env, "full")
    requests = find_requests(review_env)
    page = output_page(requests, open_request(d), TABLE)
    assert page.twin is not None and page.twin.id == "dev"
    assert page.twin_table is not None and page.twin_table.dims == ["province", "sex"]
    source = page.code[0]
    assert source.is_source and source.path == "code/analysis.py" and source.line == 4
    assert source.matches
    page = output_page(requests, open_request(d), REGRESSION)
    assert page.table is None and page.previews[0][1].kind == "table"
    page = output_page(requests, open_request(d), FIGURE)
    assert page.previews[0][1].kind == "image"


# PSPP's CSV (and the enclave's scan) split tables at blank lines, so cells here hold no newline
_TEXT = st.text(
    st.characters(blacklist_characters="\x00\r\n", blacklist_categories=("Cs",)), max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        # a row of one blank-but-not-empty cell is written as a blank line: a table break
        st.lists(_TEXT, min_size=1, max_size=5).filter(
            lambda r: len(r) > 1 or r[0] == "" or r[0].strip() != ""
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_pspp_table_is_previewed_cell_for_cell(tmp_path_factory, rows):
    """Whatever a PSPP-style table holds, the preview shows every row, each cell's text
    unchanged (the template escapes it), in order, and never fails."""
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("Table: T\n")
        csv.writer(fh, lineterminator="\n").writerows(rows)
    pv = preview(path, "x.csv", [], 10)
    shown = [[c.text for c in r] for b in pv.blocks for r in b.rows]
    if any(c.strip() for r in rows for c in r):
        assert pv.kind == "table" and [b.title for b in pv.blocks] == ["T"]
        assert shown == rows
    else:
        assert shown == []
