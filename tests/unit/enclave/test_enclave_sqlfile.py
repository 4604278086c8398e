"""SQL files: statements, names and lines; aggregate queries planned as table jobs."""

from __future__ import annotations

import pytest

from kluis.enclave.sqlcheck import QueryRefused, check_rowwise
from kluis.enclave.sqlfile import plan, statements
from kluis.enclave.tables import gate
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


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        # row-level data dressed as an aggregate: every group is one person
        ("SELECT person_id, count(*) FROM table1_next GROUP BY person_id", "person_id: made"),
        ("SELECT province, person_id, count(*) FROM table1_next GROUP BY ALL", "sequence number"),
        ("SELECT CAST(person_id AS VARCHAR) AS p, count(*) FROM table1_next GROUP BY 1", "p: made"),
        ("SELECT person_id % 1000 AS p, count(*) FROM table1_next GROUP BY 1", "p: made"),
        (
            "WITH x AS (SELECT person_id + 0 AS who, year FROM table1_next) "
            "SELECT who, count(*) FROM x GROUP BY 1",
            "who: made",
        ),
        # summaries of who the persons are
        ("SELECT province, min(person_id) FROM table1_next GROUP BY 1", "sequence number"),
        ("SELECT province, max(person_id) AS m FROM table1_next GROUP BY 1", "sequence number"),
        ("SELECT province, avg(person_id) FROM table1_next GROUP BY 1", "sequence number"),
        ("SELECT province, median(person_id) FROM table1_next GROUP BY 1", "sequence number"),
        ("SELECT education_level, max(employer_id) FROM employer_education GROUP BY 1", "sequence"),
        # the other disguises: windows, LIMIT on groups or rows, aggregating sub-queries
        ("SELECT province, count(*) OVER (PARTITION BY province) FROM table1_next", "window"),
        ("SELECT province, count(*) FROM table1_next GROUP BY 1 ORDER BY 2 LIMIT 1", "LIMIT"),
        (
            "SELECT province, count(*) FROM (SELECT * FROM table1_next ORDER BY person_id "
            "LIMIT 5) GROUP BY 1",
            "LIMIT",
        ),
        (
            "SELECT n, count(*) FROM (SELECT person_id, count(*) AS n FROM table1_next "
            "GROUP BY person_id) GROUP BY n",
            "GROUP",
        ),
        (
            "SELECT province, count(*) FROM table1_next WHERE person_id = "
            "(SELECT min(person_id) FROM table1_next) GROUP BY 1",
            "subquery",
        ),
        ("SELECT province, count(*) FROM table1_next USING SAMPLE 3 GROUP BY 1", "TableSample"),
        ("SELECT province, count(*) FROM table1_next GROUP BY ROLLUP(province)", "neither"),
    ],
)
def test_row_level_data_disguised_as_an_aggregate_is_refused(sql, why):
    """What the trusted side checks before it runs a table job (plan, then the gate)."""
    with pytest.raises(QueryRefused, match=why):
        for job in plan(statements(sql)[0], CATALOG, "q", 1, "q.sql"):
            gate(job, CATALOG)


def test_grouping_by_an_ordinary_column_passes_the_gate():
    """The control: the same shapes over a non-identifying column are fine."""
    sql = "SELECT province, max(age) AS m FROM table1_next WHERE person_id > 5 GROUP BY 1"
    (job,) = plan(statements(sql)[0], CATALOG, "q", 1, "q.sql")
    assert gate(job, CATALOG).rel.identity == "table1_next"


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        # GROUP BY positions that name no column of the SELECT (a crash, not a refusal, before)
        ("SELECT province, count(*) AS n FROM table1_next GROUP BY 99", "position 99"),
        ("SELECT province, count(*) AS n FROM table1_next GROUP BY 1.5", "position 1.5"),
        ("SELECT province, count(*) AS n FROM table1_next GROUP BY 0", "position 0"),
        ("SELECT province, count(*) AS n FROM table1_next GROUP BY -1", "position"),
        # set operations hidden in the first FROM item, where the planner looks for the table
        (
            "SELECT p, count(*) AS n FROM (SELECT province AS p FROM table1_next UNION ALL "
            "SELECT province FROM table1_next) GROUP BY p",
            "first FROM item",
        ),
        (
            "WITH x AS (SELECT province AS p FROM table1_next UNION ALL SELECT province FROM "
            "table1_next) SELECT p, count(*) AS n FROM x GROUP BY p",
            "first FROM item",
        ),
        (
            "WITH x AS (FROM table1_next) SELECT province, count(*) AS n FROM x GROUP BY 1",
            None,
        ),
    ],
)
def test_malformed_queries_are_refused_not_crashed(sql, why):
    """Every statement of a researcher's .sql file ends as a plan or a QueryRefused with a
    reason; never another exception (which ended the whole run with a traceback)."""
    [st] = statements(sql)
    if why is None:
        [job] = plan(st, CATALOG, "q", 1, "q.sql")
        gate(job, CATALOG)
        return
    with pytest.raises(QueryRefused, match=why):
        for job in plan(st, CATALOG, "q", 1, "q.sql"):
            gate(job, CATALOG)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        # a dimension called like the enclave's person column made two columns of one name
        ("SELECT province AS __pid, count(*) AS n FROM table1_next GROUP BY 1", "reserved"),
        (
            "SELECT province AS a, sex AS a, count(*) AS n FROM table1_next GROUP BY 1, 2",
            "two dimensions",
        ),
    ],
)
def test_dimension_names_the_enclave_cannot_publish_are_refused(sql, why):
    [st] = statements(sql)
    with pytest.raises(QueryRefused, match=why):
        plan(st, CATALOG, "q", 1, "q.sql")
