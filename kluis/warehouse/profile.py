"""Profile a warehouse: its figures beside the calibration targets, computed as the targets define
them.

The population of every figure is that of kluis.warehouse.calibration: residents (person_year
.resident) aged 15-64 on 31 December of the reference year (age = year - birth year, exact on 31
December) who are not in the waiting register. All figures are DuckDB queries over the Parquet
files, so profiling a national warehouse does not load it into Python.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from kluis import codes as code_lists
from kluis.errors import BadInput
from kluis.warehouse.calibration import EMPLOYMENT_RATE, TARGETS, Target
from kluis.warehouse.layout import read_meta, table_path

__all__ = ["Figure", "Profile", "ProfileError", "profile_warehouse", "MONTHLY_DAYS", "WAGE_BIN"]

MONTHLY_DAYS = 21.67  # gross daily wage x 21.67 = gross monthly wage (calibration.wage_mean_ft)
WAGE_BIN = 250  # EUR width of the wage histogram's bins
WAGE_TOP = 15_000  # the last bin holds everything from here up
_REGIONS = ("Flanders", "Wallonia", "Brussels")


class ProfileError(BadInput):
    """The warehouse cannot be profiled (unreadable or missing files): validate it first."""


@dataclass(frozen=True)
class Figure:
    """One generated figure beside its calibration target."""

    name: str
    description: str
    unit: str
    value: float | None
    target: float
    low: float
    high: float

    @property
    def ok(self) -> bool | None:
        if self.value is None:
            return None
        return self.low <= self.value <= self.high


@dataclass
class Profile:
    """Figures and the distributions behind the charts, for one warehouse and year."""

    path: str
    year: int
    persons: int
    figures: list[Figure] = field(default_factory=list)
    distributions: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str) -> Figure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(f"no figure {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "year": self.year,
            "persons": self.persons,
            "figures": [{**asdict(f), "ok": f.ok} for f in self.figures],
            "distributions": self.distributions,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _codes_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    rows = code_lists.load(name).rows
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    con.register(f"code_{name}", pa.table(cols))


def _views(con: duckdb.DuckDBPyConnection, root: Path, year: int) -> None:
    """`pop`: the calibration population of `year`, with sex, age, region and SEP group."""

    def src(table: str, y: int | None = None) -> str:
        # every part file of the table (or year): real deliveries may split a table in parts
        parts = (table_path(root, table, y).parent / "*.parquet").as_posix().replace("'", "''")
        return f"read_parquet('{parts}', hive_partitioning = false, union_by_name = true)"

    for name in ("province", "sep", "isced_level", "employer_size"):
        _codes_table(con, name)
    con.execute(f"CREATE VIEW persons AS SELECT * FROM {src('persons')}")
    con.execute(f"CREATE VIEW employers AS SELECT * FROM {src('employers')}")
    for t in ("person_year", "employments", "disability_allowances", "welfare_support"):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM {src(t, year)} WHERE year = {year}")
    # materialised once (only the columns the figures use): every figure reads these tables
    con.execute(f"""
        CREATE TEMP TABLE residents AS
        SELECT py.insz, py.province, py.sep_code, py.work_performance_type, py.gross_daily_wage,
               p.sex, p.nationality, p.waiting_register,
               {year} - year(p.birth_date) AS age, pr.region, s."group" AS sep_group,
               il.broad AS education_broad
        FROM person_year py JOIN persons p ON py.insz = p.insz
        LEFT JOIN code_province pr ON py.province = pr.code
        LEFT JOIN code_sep s ON py.sep_code = s.code
        LEFT JOIN code_isced_level il ON py.education_level = il.code
        WHERE py.resident""")
    con.execute(
        "CREATE VIEW pop AS SELECT * FROM residents "
        "WHERE NOT waiting_register AND age BETWEEN 15 AND 64"
    )
    con.execute(f"""
        CREATE TEMP TABLE ft_wages AS
        SELECT sex, education_broad, gross_daily_wage * {MONTHLY_DAYS} AS wage FROM pop
        WHERE work_performance_type = '1' AND gross_daily_wage IS NOT NULL""")
    con.execute("""
        CREATE TEMP TABLE employer_jobs AS
        SELECT rsz_number, count(*) FILTER (WHERE on_31_dec) AS jobs_31_dec
        FROM employments GROUP BY rsz_number""")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float | None:
    v = con.execute(sql).fetchall()[0][0]
    return None if v is None else float(v)


def _measures(con: duckdb.DuckDBPyConnection) -> dict[str, float | None]:
    """Each calibration target's figure, by target name."""
    q = lambda sql: _scalar(con, sql)  # noqa: E731
    rate = "avg((sep_group = '1')::INT)"
    unemp = "sum((sep_group = '2')::INT) / nullif(sum((sep_group IN ('1', '2'))::INT), 0)"
    m: dict[str, float | None] = {
        "residents_15_64": q("SELECT count(*) FROM pop"),
        "share_female": q("SELECT avg((sex = '2')::INT) FROM pop"),
        "age_15_24": q("SELECT avg((age BETWEEN 15 AND 24)::INT) FROM pop"),
        "age_25_49": q("SELECT avg((age BETWEEN 25 AND 49)::INT) FROM pop"),
        "age_50_64": q("SELECT avg((age BETWEEN 50 AND 64)::INT) FROM pop"),
        "employment_rate": q(f"SELECT {rate} FROM pop"),
        "employment_rate_men": q(f"SELECT {rate} FROM pop WHERE sex = '1'"),
        "employment_rate_women": q(f"SELECT {rate} FROM pop WHERE sex = '2'"),
        "unemployment_rate": q(f"SELECT {unemp} FROM pop"),
        "non_belgian": q("SELECT avg((nationality <> 'BE')::INT) FROM pop"),
        "non_belgian_brussels": q(
            "SELECT avg((nationality <> 'BE')::INT) FROM pop WHERE region = 'Brussels'"
        ),
        "employers": q("SELECT count(*) FROM employer_jobs"),
        "employers_under_5": q(
            "SELECT avg((jobs_31_dec < 5)::INT) FROM employer_jobs WHERE jobs_31_dec > 0"
        ),
        "employers_100_plus": q(
            "SELECT avg((jobs_31_dec >= 100)::INT) FROM employer_jobs WHERE jobs_31_dec > 0"
        ),
        "wage_mean_ft": q("SELECT avg(wage) FROM ft_wages"),
        "wage_median_ft": q("SELECT quantile_cont(wage, 0.5) FROM ft_wages"),
        "wage_ratio_high_low": q(
            "SELECT quantile_cont(wage, 0.5) FILTER (WHERE education_broad = 'high') / "
            "nullif(quantile_cont(wage, 0.5) FILTER (WHERE education_broad = 'low'), 0) "
            "FROM ft_wages"
        ),
        "wage_ratio_female_male": q(
            "SELECT quantile_cont(wage, 0.5) FILTER (WHERE sex = '2') / "
            "nullif(quantile_cont(wage, 0.5) FILTER (WHERE sex = '1'), 0) FROM ft_wages"
        ),
        "long_term_sick": q("SELECT count(*) FROM pop WHERE sep_code = '3.7'"),
        "social_integration_income": q(
            "SELECT count(*) FROM pop WHERE insz IN (SELECT insz FROM welfare_support "
            "WHERE level = 1 AND support_type = '1')"
        ),
        "disability_allowance": q(
            "SELECT count(*) FROM pop WHERE insz IN (SELECT insz FROM disability_allowances)"
        ),
    }
    for region in _REGIONS:
        low = region.lower()
        m[f"region_{low}"] = q(f"SELECT avg((region = '{region}')::INT) FROM pop")
        m[f"employment_rate_{low}"] = q(f"SELECT {rate} FROM pop WHERE region = '{region}'")
        m[f"unemployment_rate_{low}"] = q(f"SELECT {unemp} FROM pop WHERE region = '{region}'")
    for code, share in con.execute(
        "SELECT code, avg((province = code)::INT) FROM code_province, pop GROUP BY code"
    ).fetchall():
        m[f"province_{code}"] = None if share is None else float(share)
    return m


def _distributions(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, Any]:
    """The data behind the charts (small: tens of rows each)."""
    rows = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    pyramid = rows("SELECT age, sex, count(*) FROM residents GROUP BY ALL ORDER BY age, sex")
    by_region = rows(
        "SELECT region, sex, count(*), avg((sep_group = '1')::INT) FROM pop "
        "WHERE region IS NOT NULL GROUP BY ALL ORDER BY region, sex"
    )
    hist = rows(
        f"SELECT least(floor(wage / {WAGE_BIN}) * {WAGE_BIN}, {WAGE_TOP}) AS lo, count(*) "
        "FROM ft_wages GROUP BY lo ORDER BY lo"
    )
    size = rows("""
        SELECT s.code, s.label, count(j.rsz_number) FROM code_employer_size s
        LEFT JOIN employer_jobs j ON j.jobs_31_dec >= s.min_staff::INT
             AND (s.max_staff = '' OR j.jobs_31_dec <= s.max_staff::INT)
        GROUP BY ALL ORDER BY s.code""")
    declared = dict(
        rows(
            "SELECT e.size_class, count(*) FROM employers e "
            "JOIN employer_jobs j ON e.rsz_number = j.rsz_number GROUP BY ALL"
        )
    )
    return {
        "age_pyramid": [{"age": int(a), "sex": s, "count": int(n)} for a, s, n in pyramid],
        "employment_by_region_sex": [
            {
                "region": r,
                "sex": s,
                "persons": int(n),
                "rate": float(v),
                "target": EMPLOYMENT_RATE.get((r, s)),
            }
            for r, s, n, v in by_region
        ],
        "ft_wage_histogram": {
            "bin_width": WAGE_BIN,
            "top": WAGE_TOP,
            "bins": [{"from": float(lo), "count": int(n)} for lo, n in hist],
        },
        "employers_by_size_class": [
            {
                "code": c,
                "label": lab,
                "employers_31_dec": int(n),
                "declared": int(declared.get(c, 0)),
            }
            for c, lab, n in size
        ],
        "year": year,
    }


def profile_warehouse(
    path: str | Path, *, year: int | None = None, persons: int | None = None
) -> Profile:
    """Compute every calibration figure of the warehouse at `path` for `year` (default: its last
    year); targets are scaled to `persons` (default: warehouse.json's `persons`)."""
    root = Path(path)
    meta = read_meta(root)
    first, last = meta["years"]
    year = last if year is None else year
    if not first <= year <= last:
        raise ProfileError(f"--year {year} is outside the warehouse's years {first}-{last}")
    persons = int(meta["persons"] if persons is None else persons)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    try:
        _views(con, root, year)
        measured = _measures(con)
        dist = _distributions(con, year)
    except duckdb.Error as exc:
        raise ProfileError(
            f"cannot profile {root}: {str(exc).splitlines()[0]} "
            f"(run `kluis warehouse validate {root}` to see what is wrong)"
        ) from exc
    finally:
        con.close()
    return Profile(
        path=str(root),
        year=year,
        persons=persons,
        figures=[_figure(t, measured.get(t.name), persons) for t in TARGETS],
        distributions=dist,
    )


def _figure(t: Target, value: float | None, persons: int) -> Figure:
    low, high = t.bounds(persons)
    return Figure(t.name, t.description, t.unit, value, t.expected(persons), low, high)
