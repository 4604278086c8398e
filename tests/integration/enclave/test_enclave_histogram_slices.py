"""Attack: two histograms of one column whose edges differ by one step. Each bin holds many
persons, but `[lo, v+1)` minus `[lo, v)` is the number of persons at v — a slice of 1..9."""

from __future__ import annotations

import duckdb
import pytest

from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")


def _rare_year(extract) -> tuple[int, int, int, int]:
    """A registration year held by 1..9 persons, with >= 50 persons on each side of it."""
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    rows = duckdb.sql(
        f"SELECT nr_registration_year AS v, count(DISTINCT person_id) AS n "
        f"FROM read_parquet('{glob}') WHERE nr_registration_year IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    lo, hi = int(rows[0][0]), int(rows[-1][0]) + 1
    total = sum(n for _, n in rows)
    below = 0
    for v, n in rows:
        if 1 <= n <= 9 and below >= 50 and total - below - n >= 50:
            return lo, int(v), hi, int(n)
        below += n
    pytest.fail("no registration year held by 1..9 persons in the test extract")


def test_overlapping_bins_of_one_column_are_refused(enclave_extracts, enclave_home, tmp_path):
    extract = enclave_extracts["26-104-full"]
    lo, v, hi, n = _rare_year(extract)
    code = (
        "import kluis.safe as safe\n"
        "t = safe.data('table1_next')\n"
        "y = t.filter(t.year == 2025)\n"
        f"safe.histogram(y, 'nr_registration_year', edges=[{lo}, {v}, {hi}], name='h1')\n"
        f"safe.histogram(y, 'nr_registration_year', edges=[{lo}, {v + 1}, {hi}], name='h2')\n"
        f"safe.histogram(y, 'nr_registration_year', edges=[{lo}, {v}, {v + 1}, {hi}], name='h3')\n"
    )
    project = write_project(tmp_path / "p", "26/104", {"h.py": code})
    status, text = enclave_run(project, extract, tmp_path / "r")
    assert status == 0, text
    req = load_request(tmp_path / "r")
    first, second, finer = req.output("h1"), req.output("h2"), req.output("h3")
    assert first.status in ("safe", "suppressed"), first.reason  # the control: alone it leaves
    assert second.status == "refused", second
    assert "slice" in second.reason and "h1" in second.reason
    # a refinement of the first is linked by the audit as a recode: its bin [v, v+1) of n
    # persons is hidden (and protected), not refused
    assert finer.status in ("suppressed", "refused"), finer
