"""The row-wise gate every output query passes (kluis.enclave.sqlcheck)."""

from __future__ import annotations

import ibis
import pytest

from kluis.enclave.sqlcheck import Origin, QueryRefused, check_rowwise
from tests.unit.enclave.catalog import CATALOG, PERSON_COLUMNS


def _ibis_tables():
    def table(name: str, cols: tuple[str, ...]):
        return ibis.table(
            {c: "int64" if c in ("person_id", "year") else "string" for c in cols}, name=name
        )

    return table("table1_next", PERSON_COLUMNS), table(
        "table2_previous", CATALOG["table2_previous"].columns
    )


def _sql(expr) -> str:
    return ibis.to_sql(expr, dialect="duckdb")


def test_ibis_filter_mutate_keeps_person_id_and_marks_computed_columns():
    t, _ = _ibis_tables()
    expr = t.filter(t.year == 2025).mutate(grp=t.sep_code.substr(0, 1))
    checked = check_rowwise(_sql(expr.select("person_id", "province", "grp")), CATALOG)
    assert checked.rel.columns["person_id"] == Origin("table1_next", "person_id")
    assert checked.rel.columns["province"] == Origin("table1_next", "province")
    assert checked.rel.columns["grp"] is None  # computed: not an extract column
    assert checked.rel.identity == "table1_next"
    assert "2025" in [lit.this for lit in checked.literals]


def test_join_on_the_whole_key_is_row_wise():
    t, p = _ibis_tables()
    expr = t.join(p, ["person_id", "year"]).select("person_id", "sep_code", "sep_code_prev")
    checked = check_rowwise(_sql(expr), CATALOG)
    assert checked.rel.columns["sep_code_prev"] == Origin("table2_previous", "sep_code_prev")


def test_renumbered_persons_lose_their_origin():
    t, _ = _ibis_tables()
    expr = t.mutate(person_id=t.person_id + 1).select("person_id", "sex")
    assert check_rowwise(_sql(expr), CATALOG).rel.columns["person_id"] is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT province, count(*) FROM table1_next GROUP BY province", "aggregate"),
        ("SELECT person_id, row_number() OVER () FROM table1_next", "window"),
        ("SELECT person_id, avg(age) OVER () AS m FROM table1_next", "window"),
        ("SELECT DISTINCT person_id FROM table1_next", "DISTINCT"),
        ("SELECT person_id FROM table1_next LIMIT 5", "LIMIT"),
        ("SELECT person_id FROM table1_next UNION ALL SELECT person_id FROM table1_next", "UNION"),
        ("SELECT * FROM read_parquet('/root/.kluis/keys/x')", "only the extract's tables"),
        ("SELECT * FROM read_csv('/etc/passwd')", "only the extract's tables"),
        ("SELECT getenv('HOME') AS h, person_id FROM table1_next", "getenv"),
        ("SELECT person_id, random() AS r FROM table1_next", "RANDOM"),
        ("COPY table1_next TO '/tmp/x.csv'", "only SELECT"),
        ("ATTACH '/tmp/other.db'", "only SELECT"),
        ("SELECT person_id FROM table1_next; SELECT 1", "2 statements"),
        ("SELECT * FROM warehouse_persons", "unknown table"),
        ("SELECT * FROM information_schema.tables", "only the extract's tables"),
        ("SELECT t.person_id FROM table1_next t, table2_previous p", "key"),
        (
            "SELECT t.* FROM table1_next t JOIN table2_previous p ON t.person_id = p.person_id",
            "missing year",
        ),
        # the key equated with a constant links every row to one chosen person
        (
            "SELECT t.person_id, p.sex FROM table1_next t JOIN table2_previous p "
            "ON p.person_id = 12 AND p.year = t.year",
            "missing person_id",
        ),
        (
            "SELECT person_id, (SELECT count(*) FROM table1_next) AS n FROM table1_next",
            "subquery inside an expression",
        ),
        (
            "SELECT person_id FROM table1_next WHERE person_id IN "
            "(SELECT person_id FROM table2_previous)",
            "subquery inside an expression",
        ),
        ("SELECT t.person_id FROM table1_next t CROSS JOIN table2_previous p", "JOIN"),
        ("SELECT 1 AS x", "without FROM"),
        # ways to change a column while keeping its name
        ("SELECT * REPLACE (person_id + 1 AS person_id) FROM table1_next", "REPLACE"),
        ("SELECT * RENAME (sex AS person_id) FROM table1_next", "RENAME"),
        ("SELECT t.person_id FROM table1_next AS t(year, person_id)", "by position"),
        ("WITH x(year, person_id) AS (SELECT * FROM table1_next) SELECT * FROM x", "by position"),
        ("SELECT * FROM table1_next NATURAL JOIN table2_previous", "NATURAL JOIN"),
        ("SELECT * FROM table1_next POSITIONAL JOIN table2_previous", "POSITIONAL JOIN"),
        (
            "SELECT * FROM table1_next t ASOF JOIN table2_previous p ON t.person_id = p.person_id "
            "AND t.year >= p.year",
            "ASOF",
        ),
        ("SELECT * FROM table1_next SEMI JOIN table2_previous USING (person_id, year)", "SEMI"),
        ("SELECT COLUMNS('person.*') FROM table1_next", "COLUMNS"),
        ("SELECT * FROM (", "not valid"),
    ],
)
def test_refused(sql: str, why: str):
    with pytest.raises(QueryRefused, match=why):
        check_rowwise(sql, CATALOG)


def test_employer_cells_join_their_employer_on_its_key():
    sql = (
        'SELECT c.employer_id, c.n_employees, e."group" FROM employer_education c '
        "JOIN employer_education_employers e ON c.employer_id = e.employer_id AND c.year = e.year"
    )
    cols = check_rowwise(sql, CATALOG).rel.columns
    assert cols["n_employees"] == Origin("employer_education", "n_employees")
    with pytest.raises(QueryRefused, match="missing year"):
        check_rowwise(sql.replace(" AND c.year = e.year", ""), CATALOG)


def test_star_exclude_drops_columns():
    cols = check_rowwise("SELECT * EXCLUDE (sex) FROM table1_next", CATALOG).rel.columns
    assert "sex" not in cols and cols["person_id"] == Origin("table1_next", "person_id")


def test_cte_and_using_join():
    sql = (
        "WITH y AS (SELECT * FROM table1_next WHERE year = 2025) "
        "SELECT y.person_id, p.sep_code_prev FROM y JOIN table2_previous p USING (person_id, year)"
    )
    assert check_rowwise(sql, CATALOG).rel.columns["person_id"] == Origin(
        "table1_next", "person_id"
    )
