"""Outputs refused by the trusted side in a real run: row-level data dressed as aggregates, and
tables too fine to check. A refused output leaves no file among the outputs."""

from __future__ import annotations

import pytest

from kluis.enclave import tables
from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")

SQL = """-- output: by_person
SELECT person_id, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY person_id;
-- output: lowest_id
SELECT province, min(person_id) AS first FROM table1_next WHERE year = 2025 GROUP BY 1;
-- output: hidden_id
WITH x AS (SELECT person_id % 1000 AS who, year FROM table1_next)
SELECT who, count(*) AS n FROM x WHERE year = 2025 GROUP BY 1;
-- output: first_rows
SELECT province, count(*) AS n FROM (SELECT * FROM table1_next ORDER BY person_id LIMIT 5)
GROUP BY 1;
-- output: by_province
SELECT province, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY 1;
"""
PY = """import kluis.safe as safe
t = safe.data("table1_next")
safe.crosstab(t.filter(t.year == 2025), "person_id", "sex", name="py_by_person")
safe.describe(t.filter(t.year == 2025), ["person_id"], name="py_describe_id")
"""


def test_row_level_data_is_refused_in_a_run(enclave_extracts, enclave_home, tmp_path):
    project = write_project(tmp_path / "p", "26/104", {"q.sql": SQL, "a.py": PY})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    why = {
        "by_person": "sequence number",
        "lowest_id": "sequence number",
        "hidden_id": "sequence number",
        "first_rows": "LIMIT",
        "py_by_person": "sequence number",
        "py_describe_id": "sequence number",
    }
    for name, reason in why.items():
        out = req.output(name)
        assert out.status == "refused" and reason in out.reason, out
        assert not any(p.startswith("outputs/") for p in out.files.values())
    assert req.output("by_province").status in ("safe", "suppressed")  # the control
    assert {p.name for p in (tmp_path / "r" / "outputs").iterdir()} == {"by_province.csv"}


def test_a_table_too_fine_to_check_is_refused(
    enclave_extracts, enclave_home, tmp_path, monkeypatch
):
    monkeypatch.setattr(tables, "MAX_CELLS", 40)
    sql = (
        "-- output: fine\n"
        "SELECT province, age, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY ALL;\n"
        "-- output: coarse\n"
        "SELECT sex, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY ALL;\n"
    )
    project = write_project(tmp_path / "p", "26/104", {"q.sql": sql})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    fine = req.output("fine")
    assert fine.status == "refused" and "more than 40 cells" in fine.reason, fine
    assert req.output("coarse").status in ("safe", "suppressed")
