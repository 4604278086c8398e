"""Phase 1 of 24/074: the scrambled fragment keeps what it promises and hides what it must."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from kluis.extract.employers.build import REPORT_FILE, build, enterprise_map
from kluis.extract.employers.fragment import MAX_EMPLOYER_SHARE, choose_employers
from kluis.extract.employers.nbb import load_nbb_list

try:  # the hand-made warehouse of the builder tests (package or rootdir import)
    from .test_employer_build import Tiny, collect, make_context
except ImportError:
    from test_employer_build import Tiny, collect, make_context


@pytest.mark.parametrize("share_intervention", [0.5, 0.2, 0.02])
def test_choose_employers_fills_the_budget(share_intervention):
    rng = np.random.default_rng(0)
    n = 2_000
    counts = pa.table(
        {
            "employer_id": np.arange(1, n + 1),
            "group": np.where(rng.random(n) < share_intervention, "intervention", "control"),
            "records": rng.integers(1, 600, n),
        }
    )
    groups = ("intervention", "control")
    chosen = choose_employers(counts, 3_000, groups, seed=9)
    ids = counts.column("employer_id").to_pylist()
    rec = dict(zip(ids, counts.column("records").to_pylist(), strict=True))
    grp = dict(zip(ids, counts.column("group").to_pylist(), strict=True))
    cap = 3_000 * MAX_EMPLOYER_SHARE
    per_group = Counter()
    for e in chosen:
        assert rec[e] <= cap  # no employer fills the fragment
        per_group[grp[e]] += rec[e]
    total = sum(per_group.values())
    smallest_left = min(r for e, r in rec.items() if e not in set(chosen.tolist()))
    assert total <= 3_000 and total + smallest_left > 3_000  # nothing more fits
    for g in groups:  # each group gets its half, or all it has below the cap
        available = sum(r for e, r in rec.items() if grp[e] == g and r <= cap)
        assert per_group[g] >= min(1_500 - cap, available)
    again = choose_employers(counts, 3_000, groups, seed=9)
    other = choose_employers(counts, 3_000, groups, seed=10)
    assert np.array_equal(chosen, again) and not np.array_equal(chosen, other)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Tiny:
    return Tiny(tmp_path_factory.mktemp("fragment") / "wh", seed=5)


@pytest.fixture(scope="module")
def development(tiny):
    ctx = make_context(tiny, phase="development")
    tables = build(ctx)
    return ctx, tables, collect(ctx, tables)


def _true_records(tiny: Tiny, employees: str) -> list[tuple]:
    """(rsz, year, group, level, field) of every listed employee-year, counted independently."""
    out = []
    for year, jobs in tiny.jobs.items():
        for p, r, _w, _f, dec31 in jobs:
            if r in tiny.groups and (employees == "during_year" or dec31):
                lev, fld = tiny.education[year].get(p, ("999", "999"))
                out.append((r, year, tiny.groups[r], lev, fld))
    return out


def test_fragment_keeps_employer_sizes_and_education_marginals(tiny, development):
    ctx, _tables, out = development
    rsz_of = dict(
        zip(
            *(
                enterprise_map(load_nbb_list(tiny.nbb), ctx.key).column(c).to_pylist()
                for c in ("employer_id", "rsz_number")
            ),
            strict=True,
        )
    )
    cells = out["employer_education"]
    chosen = {rsz_of[e] for e in cells.column("employer_id").to_pylist()}
    truth = [
        t for t in _true_records(tiny, ctx.deliberation.population.employees) if t[0] in chosen
    ]
    got_size, got_marg = Counter(), Counter()
    for e, y, lev, fld, n in zip(
        *(
            cells.column(c).to_pylist()
            for c in ("employer_id", "year", "education_level", "education_field", "n_employees")
        ),
        strict=True,
    ):
        got_size[(rsz_of[e], y)] += n
        got_marg[(y, tiny.groups[rsz_of[e]], lev, fld)] += n
    # Only attributes move: each employer keeps its number of employees per year ...
    assert got_size == Counter((r, y) for r, y, _g, _l, _f in truth)
    # ... and each year x group keeps its education distribution exactly.
    assert got_marg == Counter((y, g, lev, fld) for _r, y, g, lev, fld in truth)
    # but the employers' own compositions are not shown any more.
    true_cells = Counter((r, y, lev, fld) for r, y, _g, lev, fld in truth)
    got_cells = Counter()
    for e, y, lev, fld, n in zip(
        *(
            cells.column(c).to_pylist()
            for c in ("employer_id", "year", "education_level", "education_field", "n_employees")
        ),
        strict=True,
    ):
        got_cells[(rsz_of[e], y, lev, fld)] += n
    assert got_cells != true_cells


def test_scrambling_report_is_in_the_extract(development):
    ctx, tables, out = development
    report = json.loads(ctx.attachments[REPORT_FILE])
    spec = ctx.deliberation.phases.development.spec
    assert report["swap_rate"] == spec.swap_rate
    assert report["strata"] == ["year", *spec.strata]
    assert report["marginals_equal"] is True
    for var, m in report["marginals"].items():
        assert m["before"] == m["after"], var
    n_records = sum(out["employer_education"].column("n_employees").to_pylist())
    assert report["records"] == report["fragment"]["records"] == n_records
    assert report["linkage"]["success_rate"] < report["linkage"]["success_rate_unswapped"]
    assert [r["swap_rate"] for r in report["trade_off"]] == [0.1, 0.25, 0.5, 0.75, 1.0]
    assert any("SCRAMBLED" in n for n in tables[0].notes)
    # The report shows amounts only in their classes, never a raw wage.
    wages = report["marginals"]["annual_wage"]["before"]
    assert set(wages) <= {str(i) for i in range(1, 10)}


def test_fragment_is_reproducible_with_the_key_and_differs_without_it(tiny, development):
    ctx, _t, out = development
    again_ctx = make_context(tiny, phase="development")
    again = collect(again_ctx, build(again_ctx))
    other_ctx = make_context(tiny, phase="development", key=b"z" * 32)
    other = collect(other_ctx, build(other_ctx))
    key = ["employer_id", "year", "education_level", "education_field"]

    def sort(t):
        return t.sort_by([(k, "ascending") for k in key])

    assert sort(out["employer_education"]).equals(sort(again["employer_education"]))
    assert not sort(out["employer_education"]).equals(sort(other["employer_education"]))
    assert again_ctx.attachments[REPORT_FILE] == ctx.attachments[REPORT_FILE]


def test_every_employer_year_has_one_employer_row_and_cells(development):
    _ctx, _tables, out = development
    emp = out["employer_education_employers"]
    cells = out["employer_education"]
    rows = list(
        zip(emp.column("employer_id").to_pylist(), emp.column("year").to_pylist(), strict=True)
    )
    assert len(rows) == len(set(rows))
    cell_keys = set(
        zip(cells.column("employer_id").to_pylist(), cells.column("year").to_pylist(), strict=True)
    )
    assert set(rows) == cell_keys
