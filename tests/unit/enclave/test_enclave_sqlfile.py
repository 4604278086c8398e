"""SQL files: statements, names and lines; aggregate queries planned as table jobs."""

from __future__ import annotations

import pytest

from kluis.enclave.sqlcheck import QueryRefused, check_rowwise
from kluis.enclave.sqlfile import plan, statements
from tests.unit.enclave.catalog import CATALOG

TEXT = """-- a header that mentions "-- output: NOT_A_NAME" in passing

-- output: by_province
SELECT province, count(*) AS n
FROM table1_next WHERE year = 2025
GROUP BY province;

SELECT sex, substr(sep_code, 1, 1) AS grp, avg(CAST(daily_wage_decile AS INTEGER)) AS m,
       count(DISTINCT person_id) AS persons
FROM table1_next GROUP BY ALL;
"""


def test_statements_have_names_and_first_lines():
    found = statements(TEXT)
    assert [(s.line, s.name) for s in found] == [(4, "by_province"), (8, None)]


def test_plan_one_job_per_aggregate_over_row_wise_rows():
    first, second = statements(TEXT)
    [job] = plan(first, CATALOG, "tables", 1, "tables.sql")
    assert (job.name, job.statistic, job.dims) == ("by_province", "count", [("__d0", "province")])
    jobs = plan(second, CATALOG, "tables", 2, "tables.sql")
    assert [(j.name, j.statistic) for j in jobs] == [
        ("tables_2_m", "mean"),
        ("tables_2_persons", "count"),
    ]
    assert [shown for _, shown in jobs[0].dims] == ["sex", "grp"]
    for j in jobs:  # the rows of each job pass the same gate as Python outputs
        assert check_rowwise(j.sql, CATALOG).rel.columns["person_id"] is not None


def test_employer_tables_count_employees_and_employers():
    st = statements(
        "SELECT education_level, sum(n_employees), count(DISTINCT employer_id) "
        "FROM employer_education GROUP BY education_level"
    )[0]
    employees, employers = plan(st, CATALOG, "e", 1, "e.sql")
    assert (employees.statistic, employees.value, employees.unit) == ("count", None, None)
    assert (employers.statistic, employers.unit) == ("count", "employer")


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT person_id, province FROM table1_next", "no aggregate"),
        ("SELECT province, count(*) FROM table1_next GROUP BY 1 HAVING count(*) > 10", "HAVING"),
        ("SELECT province, count(*) FROM table1_next GROUP BY 1 LIMIT 3", "LIMIT"),
        ("SELECT DISTINCT province FROM table1_next", "DISTINCT"),
        ("SELECT province, count(*) / 2 FROM table1_next GROUP BY 1", "inside an expression"),
        ("SELECT count(*) FROM table1_next", "no GROUP BY"),
        ("SELECT province, sex, count(*) FROM table1_next GROUP BY province", "neither grouped"),
        ("SELECT province, stddev(age) FROM table1_next GROUP BY 1", "not one the enclave"),
        ("SELECT province, count(DISTINCT sex) FROM table1_next GROUP BY 1", "DISTINCT"),
        ("SELECT education_level, count(*) FROM employer_education GROUP BY 1", "records"),
        ("SELECT province, sum(age) OVER () FROM table1_next", "window"),
        ("UPDATE table1_next SET sex = '1'", "only SELECT"),
    ],
)
def test_refused(sql, why):
    with pytest.raises(QueryRefused, match=why):
        plan(statements(sql)[0], CATALOG, "q", 1, "q.sql")
