"""Measure a generated warehouse against the calibration targets (one reference year), in DuckDB
over the Parquet files. Used by the generator's tests and benchmark; the population is the one
kluis.warehouse.calibration describes (residents aged 15-64, not in the waiting register)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kluis import codes
from kluis.warehouse.calibration import PROVINCE_SHARES
from kluis.warehouse.layout import table_path


def measure(directory: Path | str, year: int) -> dict[str, float]:
    """Value of every calibration target (by name) in `year` of the warehouse at `directory`."""
    d = Path(directory)
    con = duckdb.connect()
    con.execute("create table region(code varchar, region varchar)")
    con.executemany(
        "insert into region values (?, ?)", list(codes.load("province").mapping("region").items())
    )
    con.execute("create table broad(code varchar, broad varchar)")
    con.executemany(
        "insert into broad values (?, ?)", list(codes.load("isced_level").mapping("broad").items())
    )
    py = table_path(d, "person_year", year)
    con.execute(f"""create table pop as
        select p.*, r.region, s.sex, s.nationality, b.broad,
               left(p.sep_code, 1) as grp, p.gross_daily_wage * 21.67 as monthly,
               {year} - year(s.birth_date) as age
        from read_parquet('{py}') p join read_parquet('{table_path(d, "persons")}') s
             using (insz)
        join region r on r.code = p.province
        left join broad b on b.code = p.education_level
        where p.resident and not s.waiting_register
          and {year} - year(s.birth_date) between 15 and 64""")

    def q(sql: str) -> float:
        value = con.execute(sql).fetchall()[0][0]
        return float(value) if value is not None else float("nan")

    def rate(cond: str, where: str = "true") -> float:
        return q(f"select avg(case when {cond} then 1.0 else 0.0 end) from pop where {where}")

    def unemployment(where: str = "true") -> float:
        return q(f"""select sum(case when grp = '2' then 1.0 else 0 end)
                     / sum(case when grp in ('1', '2') then 1.0 else 0 end) from pop
                     where {where}""")

    m: dict[str, float] = {
        "residents_15_64": q("select count(*) from pop"),
        "share_female": rate("sex = '2'"),
        "age_15_24": rate("age <= 24"),
        "age_25_49": rate("age between 25 and 49"),
        "age_50_64": rate("age >= 50"),
        "employment_rate": rate("grp = '1'"),
        "employment_rate_men": rate("grp = '1'", "sex = '1'"),
        "employment_rate_women": rate("grp = '1'", "sex = '2'"),
        "unemployment_rate": unemployment(),
        "non_belgian": rate("nationality <> 'BE'"),
        "non_belgian_brussels": rate("nationality <> 'BE'", "region = 'Brussels'"),
        "long_term_sick": q("select count(*) from pop where sep_code = '3.7'"),
    }
    for r in ("Flanders", "Wallonia", "Brussels"):
        m[f"region_{r.lower()}"] = rate(f"region = '{r}'")
        m[f"employment_rate_{r.lower()}"] = rate("grp = '1'", f"region = '{r}'")
        m[f"unemployment_rate_{r.lower()}"] = unemployment(f"region = '{r}'")
    for p in PROVINCE_SHARES:
        m[f"province_{p}"] = rate(f"province = '{p}'")
    ft = "work_performance_type = '1' and monthly is not null"
    m["wage_mean_ft"] = q(f"select avg(monthly) from pop where {ft}")
    m["wage_median_ft"] = q(f"select median(monthly) from pop where {ft}")
    m["wage_ratio_high_low"] = q(f"""select median(monthly) filter (broad = 'high')
                                    / median(monthly) filter (broad = 'low') from pop where {ft}""")
    m["wage_ratio_female_male"] = q(f"""select median(monthly) filter (sex = '2')
                                       / median(monthly) filter (sex = '1') from pop where {ft}""")
    emp = table_path(d, "employments", year)
    m["employers"] = q(f"select count(distinct rsz_number) from read_parquet('{emp}')")
    sizes = f"""(select rsz_number, count(*) n from read_parquet('{emp}') where on_31_dec
                 group by 1)"""
    m["employers_under_5"] = q(f"select avg(case when n < 5 then 1.0 else 0 end) from {sizes}")
    m["employers_100_plus"] = q(f"select avg(case when n >= 100 then 1.0 else 0 end) from {sizes}")
    wf = table_path(d, "welfare_support", year)
    m["social_integration_income"] = q(f"""select count(distinct insz) from read_parquet('{wf}')
        where level = 1 and support_type = '1' and insz in (select insz from pop)""")
    da = table_path(d, "disability_allowances", year)
    m["disability_allowance"] = q(f"""select count(distinct insz) from read_parquet('{da}')
        where insz in (select insz from pop)""")
    con.close()
    return m
