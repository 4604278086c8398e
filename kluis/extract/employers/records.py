"""The employee records of listed employers, and their aggregation per employer × education cell.

WHY: the same two steps serve both phases. The full phase aggregates the records straight from
the warehouse; the development phase first collects a fragment of the records, swaps attributes
between employees (scramble.py), registers the swapped records with the engine and aggregates
them with the very same expressions. Everything here is a plain Ibis expression, so DuckDB and
Spark run identical logic.

One record = one employee of one listed employer in one year (employments' key is person ×
employer × year, so counting records counts distinct persons). Columns are named after the
deliberation's variables: employer_id, year, group, education_level, education_field,
annual_wage, fte, age.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kluis.deliberation.coarsening import Scheme
from kluis.extract.derive import derive
from kluis.extract.recode import recode
from kluis.extract.warehouse import WarehouseTables

UNKNOWN_EDUCATION = "999"  # the code lists' "unknown"; also used when no person-year row exists
RECORD_COLUMNS = (
    "employer_id",
    "year",
    "group",
    "education_level",
    "education_field",
    "annual_wage",
    "fte",
    "age",
)
RECORD_SCHEMA = pa.schema(
    [
        ("employer_id", pa.int64()),
        ("year", pa.int16()),
        ("group", pa.string()),
        ("education_level", pa.string()),
        ("education_field", pa.string()),
        ("annual_wage", pa.float64()),
        ("fte", pa.float64()),
        ("age", pa.int16()),
    ]
)


def listed_jobs(
    wh: WarehouseTables, year: int, enterprises: ir.Table, employees: str = "on_31_dec"
) -> ir.Table | None:
    """The jobs of `year` at listed enterprises: insz, employer_id, group, annual_wage, fte.

    `enterprises` has rsz_number, group and employer_id (the pseudonym): joining it both keeps
    only listed employers and replaces the RSZ number, which is dropped here and never reaches
    an output. `employees`: 'on_31_dec' (jobs held on 31 December) or 'during_year' (every job
    of the year). None when the warehouse does not cover the year."""
    if employees not in ("on_31_dec", "during_year"):
        raise ValueError(f"employees must be on_31_dec or during_year, got {employees!r}")
    jobs = wh.table("employments", year)
    if jobs is None:
        return None
    jobs = jobs.select("insz", "rsz_number", "gross_taxable_annual_wage", "fte", "on_31_dec")
    if employees == "on_31_dec":
        jobs = jobs.filter(jobs.on_31_dec)
    listed = jobs.join(enterprises, jobs.rsz_number == enterprises.rsz_number)
    return listed.select(
        insz=jobs.insz,
        employer_id=enterprises.employer_id,
        group=enterprises.group,
        annual_wage=jobs.gross_taxable_annual_wage,
        fte=jobs.fte,
    )


def employee_records(
    wh: WarehouseTables,
    year: int,
    enterprises: ir.Table,
    employees: str = "on_31_dec",
    *,
    education: bool = True,
    age: bool = True,
) -> ir.Table | None:
    """Employees of the listed enterprises in `year` (see `listed_jobs`), with their education
    level and field of the year and their age on 31 December (RECORD_SCHEMA columns).

    `education=False` / `age=False` leave out the person-year / persons join (and those
    columns): a query that does not need them then reads one table less."""
    listed = listed_jobs(wh, year, enterprises, employees)
    py = wh.table("person_year", year)
    if listed is None or py is None:
        return None
    joined = listed
    if education:
        py = py.select(py_insz=py.insz, py_level=py.education_level, py_field=py.education_field)
        joined = joined.left_join(py, joined.insz == py.py_insz)
        joined = joined.select(*listed.columns, "py_level", "py_field")
    if age:
        persons = wh.persons()
        persons = persons.select(p_insz=persons.insz, birth_date=persons.birth_date)
        keep = joined.columns
        joined = joined.left_join(persons, joined.insz == persons.p_insz)
        joined = joined.select(*keep, "birth_date")
    columns = {
        "employer_id": joined.employer_id.cast("int64"),
        "year": ibis.literal(year, type="int16"),
        "group": joined.group,
    }
    if education:
        columns["education_level"] = joined.py_level.fill_null(UNKNOWN_EDUCATION)
        columns["education_field"] = joined.py_field.fill_null(UNKNOWN_EDUCATION)
    columns["annual_wage"] = joined.annual_wage.cast("float64")
    columns["fte"] = joined.fte.cast("float64")
    if age:
        columns["age"] = derive("age", joined, year).cast("int16")
    return joined.select(**columns)


MEAN_DECIMALS = 6


def _mean(values: ir.NumericColumn) -> ir.NumericScalar:
    """The mean, rounded to MEAN_DECIMALS before it is put in a class: the engines sum in
    different orders, so an exact mean on a class boundary (an FTE of 0.9) may come out as
    0.8999999999999999 on one engine and 0.9 on another; rounded, it lands in the same class
    everywhere."""
    return values.mean().round(MEAN_DECIMALS)


CELL_KEYS = ("employer_id", "year", "education_level", "education_field")
EMPLOYER_KEYS = ("employer_id", "year")


def aggregate_cells(
    records: ir.Table, mean_schemes: dict[str, tuple[str, Scheme]], count_name: str = "n_employees"
) -> ir.Table:
    """Per employer × year × level × field: the number of employees and each mean in classes.

    `mean_schemes`: output name -> (record column, scheme)."""
    agg = {count_name: records.count()}
    for out, (column, _scheme) in mean_schemes.items():
        agg[f"_{out}"] = _mean(records[column])
    cells = records.group_by(list(CELL_KEYS)).aggregate(**agg)
    return cells.select(
        *CELL_KEYS,
        **{count_name: cells[count_name].cast("int64")},
        **{
            out: recode(cells[f"_{out}"], scheme, source_type="float64")
            for out, (_c, scheme) in mean_schemes.items()
        },
    )


def aggregate_employers(
    records: ir.Table,
    mean_schemes: dict[str, tuple[str, Scheme]],
    variables: Sequence[str] = ("group",),
) -> ir.Table:
    """Per employer × year: the employer variables (e.g. the group) and each mean in classes."""
    keys = [*EMPLOYER_KEYS, *variables]
    agg = {f"_{out}": _mean(records[column]) for out, (column, _s) in mean_schemes.items()}
    employers = records.group_by(keys).aggregate(**agg)
    return employers.select(
        *keys,
        **{
            out: recode(employers[f"_{out}"], s, source_type="float64")
            for out, (_c, s) in mean_schemes.items()
        },
    )
