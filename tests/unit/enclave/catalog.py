"""A hand-made catalog of extract tables (as kluis.enclave.extract describes them), so the query
gate and the SQL planner can be tested without building an extract."""

from __future__ import annotations

from kluis.enclave.extract import TableInfo

PERSON_COLUMNS = (
    "person_id",
    "year",
    "age",
    "sex",
    "province",
    "sep_code",
    "sep_code_next",
    "daily_wage_decile",
    "education_level",
)
CATALOG = {
    "table1_next": TableInfo(
        "table1_next",
        ("table1_next/year=2025/part-0.parquet",),
        PERSON_COLUMNS,
        "person",
        ("person_id", "year"),
        person="person_id",
    ),
    "table2_previous": TableInfo(
        "table2_previous",
        ("table2_previous/year=2025/part-0.parquet",),
        ("person_id", "year", "sex", "sep_code_prev"),
        "person",
        ("person_id", "year"),
        person="person_id",
    ),
    "employer_education": TableInfo(
        "employer_education",
        ("employer_education/year=2021/part-0.parquet",),
        ("employer_id", "year", "education_level", "education_field", "n_employees"),
        "employer-cell",
        ("employer_id", "year", "education_level", "education_field"),
        employer="employer_id",
        count="n_employees",
    ),
    "employer_education_employers": TableInfo(
        "employer_education_employers",
        ("employer_education_employers/year=2021/part-0.parquet",),
        ("employer_id", "year", "group", "mean_age"),
        "employer",
        ("employer_id", "year"),
        employer="employer_id",
    ),
}
