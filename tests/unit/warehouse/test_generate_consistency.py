"""The generated warehouse tells consistent life stories: checked on the shared small warehouse
(3,000 persons, 2003-2026) with SQL over its Parquet files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from kluis import codes
from kluis.schema import STATUS_FLAGS, TABLES
from kluis.warehouse.identifiers import insz_is_bis, insz_valid, kbo_valid, rsz_valid
from kluis.warehouse.layout import read_meta, table_path, table_years


@pytest.fixture(scope="module")
def con(small_warehouse: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for t in TABLES:
        glob = small_warehouse / t.name / ("*/*.parquet" if t.by_year else "*.parquet")
        c.execute(
            f"create view {t.name} as select * from read_parquet('{glob}', "
            "hive_partitioning = false)"
        )
    return c


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchall()[0][0]


def test_every_file_has_the_declared_schema(small_warehouse: Path) -> None:
    meta = read_meta(small_warehouse)
    first, last = meta["years"]
    for t in TABLES:
        paths = (
            [table_path(small_warehouse, t.name, y) for y in range(first, last + 1)]
            if t.by_year
            else [table_path(small_warehouse, t.name)]
        )
        if t.by_year:
            assert table_years(small_warehouse, t.name) == list(range(first, last + 1))
        for p in paths:
            assert pq.read_schema(p).remove_metadata() == t.arrow_schema, p


def test_row_counts_match_the_metadata(small_warehouse: Path, con) -> None:
    rows = read_meta(small_warehouse)["rows"]
    for t in TABLES:
        assert one(con, f"select count(*) from {t.name}") == rows[t.name] > 0


def test_keys_are_unique(con) -> None:
    for t in TABLES:
        key = ", ".join(t.key)
        dupes = one(
            con,
            f"select count(*) from (select {key} from {t.name} group by {key} having count(*) > 1)",
        )
        assert dupes == 0, t.name


def test_identifiers_are_valid(con) -> None:
    insz = con.sql("select insz from persons").to_arrow_table().column(0)
    assert insz_valid(insz).all()
    bis = insz_is_bis(insz)
    assert 0 < bis.sum() < 0.2 * len(insz)  # some BIS numbers, mostly national register
    er = con.sql("select kbo_number, rsz_number from employers").to_arrow_table()
    assert kbo_valid(er.column(0)).all() and rsz_valid(er.column(1)).all()


def test_every_row_belongs_to_a_known_person_and_employer(con) -> None:
    for t in (
        "person_year",
        "employments",
        "ss_spells",
        "disability_allowances",
        "welfare_support",
    ):
        assert (
            one(con, f"select count(*) from {t} where insz not in (select insz from persons)") == 0
        ), t
    assert (
        one(con, "select count(*) from persons where insz not in (select insz from person_year)")
        == 0
    )
    # every job is of a person present that year, at an employer active that year
    assert (
        one(
            con,
            """select count(*) from employments e anti join person_year p
                       using (insz, year)""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from employments e join employers r using (rsz_number)
                       where e.year < r.founded_year or e.year > coalesce(r.closed_year, 9999)
                    """,
        )
        == 0
    )
    assert (
        one(
            con,
            "select count(*) from employers where rsz_number not in "
            "(select rsz_number from employments)",
        )
        == 0
    )


def test_ages_and_deaths(con) -> None:
    bad_age = one(
        con,
        """select count(*) from person_year join persons using (insz)
                          where year - year(birth_date) not between 13 and 66""",
    )
    assert bad_age == 0
    died = one(con, "select count(*) from persons where death_date is not null")
    assert died > 0
    assert (
        one(
            con,
            """select count(*) from person_year join persons using (insz)
                       where death_date is not null and year >= year(death_date)""",
        )
        == 0
    )
    # the dead were there the year before they died (unless that is before the first year)
    assert (
        one(
            con,
            """select count(*) from persons d where death_date is not null
                       and year(death_date) > 2003 and not exists (select 1 from person_year p
                       where p.insz = d.insz and p.year = year(d.death_date) - 1)""",
        )
        == 0
    )


def test_lives_continue_from_year_to_year(con) -> None:
    # most persons present in year T who are alive and under 66 are present in T+1
    stay = con.execute("""
        select avg(case when n.insz is not null then 1 else 0 end)
        from person_year p join persons using (insz)
        left join person_year n on n.insz = p.insz and n.year = p.year + 1
        where p.year < 2026 and p.year - year(birth_date) < 66
          and (death_date is null or year(death_date) > p.year + 1)""").fetchall()[0][0]
    assert 0.95 < stay < 1.0
    # education never goes down (ISCED level; 9 = unknown stays unknown) and is fixed after 31
    # (a doctorate comes at 28 plus up to three years of delay)
    isced = codes.load("isced_level").mapping("isced")
    con.execute("create temp table lvl(code varchar, isced int)")
    con.executemany("insert into lvl values (?, ?)", list(isced.items()))
    assert (
        one(
            con,
            """select count(*) from person_year a join person_year b
                       on a.insz = b.insz and b.year = a.year + 1
                       join lvl la on la.code = a.education_level
                       join lvl lb on lb.code = b.education_level
                       where lb.isced < la.isced""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year a join person_year b
                       on a.insz = b.insz and b.year = a.year + 1 join persons d on d.insz = a.insz
                       where a.year - year(d.birth_date) >= 31
                       and a.education_level <> b.education_level""",
        )
        == 0
    )


def test_status_flags_fit_the_position(con) -> None:
    work = [n for n, _, _ in STATUS_FLAGS if n.startswith("st_work_")]
    si = [n for n, _, _ in STATUS_FLAGS if n.startswith("st_si_")]
    ex = [
        n
        for n in (
            "st_exempt_disability_allowance",
            "st_exempt_occupational_disease",
            "st_exempt_work_accident",
            "st_exempt_social_integration",
            "st_exempt_training",
            "st_exempt_family_social",
            "st_exempt_other",
        )
    ]
    assert (
        one(
            con,
            f"select count(*) from person_year where ({' or '.join(work)}) "
            "and sep_code not like '1%'",
        )
        == 0
    )
    assert (
        one(
            con, f"select count(*) from person_year where ({' or '.join(si)}) and sep_code <> '3.3'"
        )
        == 0
    )
    assert (
        one(
            con, f"select count(*) from person_year where ({' or '.join(ex)}) and sep_code <> '3.2'"
        )
        == 0
    )
    assert one(con, f"select count(*) from person_year where {' or '.join(work)}") > 0
    # every job-seeker has a category, a service and months registered
    assert (
        one(
            con,
            """select count(*) from person_year where sep_code like '2%' and
                       (jobseeker_category is null or employment_service is null
                        or months_registered is null)""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year where months_unemployed is not null
                       and sep_code not in ('2.1', '2.2', '3.2')""",
        )
        == 0
    )
    # the public sector code goes with public employers
    assert (
        one(
            con,
            """select count(*) from person_year p join employments e using (insz, year)
                       join employers r using (rsz_number) where e.on_31_dec and
                       p.sep_code = '1.1.2' and r.sector = '1' and p.nace = r.nace""",
        )
        == 0
    )


def test_work_columns_follow_the_jobs(con) -> None:
    # a main job on 31 December exactly for employees (and employee + self-employed)
    assert (
        one(
            con,
            """select count(*) from person_year where (work_performance_type is null)
                       = (sep_code in ('1.1.1', '1.1.2', '1.4'))""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year p where work_performance_type is not null
                       and not exists (select 1 from employments e where e.insz = p.insz
                       and e.year = p.year and e.on_31_dec)""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year where gross_daily_wage is not null
                       and work_performance_type is null""",
        )
        == 0
    )
    # some have two employers; student jobs exist but are not held on 31 December
    assert (
        one(
            con,
            """select count(*) from (select insz, year from employments where on_31_dec
                       group by 1, 2 having count(*) = 2)""",
        )
        > 0
    )
    assert (
        one(
            con,
            """select count(*) from employments join person_year using (insz, year)
                       where sep_code = '3.6' and on_31_dec""",
        )
        == 0
    )


def test_residence_and_households(con) -> None:
    assert (
        one(
            con,
            """select count(*) from person_year where (province is null) = resident
                       or (household_id is null) = resident""",
        )
        == 0
    )
    assert one(con, "select count(*) from person_year where not resident and not cross_border") == 0
    # members of a household share its province, children count and work intensity
    assert (
        one(
            con,
            """select count(*) from (select year, household_id from person_year
                       where resident group by 1, 2 having count(distinct province) > 1
                       or count(distinct n_children) > 1
                       or count(distinct coalesce(work_intensity_eu, -1)) > 1)""",
        )
        == 0
    )
    # a child of a married couple lives with a married parent with children
    assert (
        one(
            con,
            """select count(*) from person_year c where household_type = '07'
                       and not exists (select 1 from person_year p where p.year = c.year
                       and p.household_id = c.household_id and p.household_type = '03')""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year where household_type in ('07','08','09',
                       '03','05','06') and n_children = 0""",
        )
        == 0
    )


def test_spells_and_support_rows_are_well_formed(con) -> None:
    assert (
        one(
            con,
            """select count(*) from ss_spells where start_date > make_date(year, 12, 31)
                       or end_date < make_date(year, 10, 1) or end_date < start_date""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from ss_spells s join person_year p using (insz, year)
                       where kind = 'INC' and incapacity_day_type in ('1', '2')
                       and end_date is null and p.sep_code not like '3.7'
                       and p.sep_code not like '1%'""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year p where sep_code = '3.7' and not exists
                       (select 1 from ss_spells s where s.insz = p.insz and s.year = p.year
                       and s.kind = 'INC')""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from welfare_support a join welfare_support b
                       using (insz, year) where a.level = 1 and b.level = 2
                       and not starts_with(b.support_type, a.support_type || '.')""",
        )
        == 0
    )
    assert (
        one(
            con,
            """select count(*) from person_year p where sep_code = '3.8' and not exists
                       (select 1 from disability_allowances d where d.insz = p.insz
                       and d.year = p.year)""",
        )
        == 0
    )
