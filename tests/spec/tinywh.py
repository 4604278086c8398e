"""Hand-made and random warehouses for the extraction tests, written from the schema alone.

`write_warehouse` takes explicit rows (defaults fill every non-nullable column), so tests can
count populations and follow panel links by hand. `random_warehouse` draws a few thousand
persons with NumPy — independent of the warehouse generator, so the extraction's properties are
tested on data whose every quirk we chose (deaths, emigration, waiting register, ages 13-66).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.codes import load as codes
from kluis.schema import STATUS_FLAGS, TABLES
from kluis.warehouse.identifiers import make_insz
from kluis.warehouse.layout import table_path, write_meta

D = dt.date
FLAGS = tuple(name for name, _nl, _en in STATUS_FLAGS)


def person(insz: str, birth: dt.date, **kw: Any) -> dict[str, Any]:
    row = {
        "insz": insz,
        "birth_date": birth,
        "sex": "1",
        "nationality": "BE",
        "first_nationality": "BE",
        "birth_country": "BE",
        "foreign_origin_known": False,
        "foreign_origin_country": None,
        "migrant_descent": False,
        "descent_country": None,
        "nr_registration_year": birth.year,
        "waiting_register": False,
        "death_date": None,
    }
    row.update(kw)
    return row


def person_year(insz: str, year: int, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "insz": insz,
        "year": year,
        "resident": True,
        "province": "10000",
        "household_id": 1,
        "household_type": "01",
        "n_children": 0,
        "education_level": "310",
        "education_field": "041",
        "education_org_type": "1",
        "newcomer": False,
        "residence_reason": None,
        "sep_code": "1.1.1",
        "jobseeker_category": None,
        "employment_service": None,
        "months_registered": None,
        "months_unemployed": None,
        "sanctioned": False,
        "work_performance_type": "1",
        "nace": "62",
        "gross_daily_wage": 120.0,
        "fte_excl_assimilated": 1.0,
        "work_intensity_eu": 1.0,
        "work_intensity_be": 1.0,
        "cross_border": False,
        "posted_worker": False,
        **dict.fromkeys(FLAGS, False),
    }
    row.update(kw)
    return row


def spell(insz: str, year: int, kind: str, start: dt.date, end: dt.date | None, **kw) -> dict:
    row = {
        "insz": insz,
        "year": year,
        "kind": kind,
        "start_date": start,
        "end_date": end,
        "incapacity_day_type": None,
        "benefit_type": None,
        "medical_code_type": None,
        "medical_code": None,
        "benefit_code": None,
    }
    row.update(kw)
    return row


def insz_numbers(n: int, seed: int = 1) -> list[str]:
    """n distinct valid INSZ numbers."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365 * 50, n)
    births = np.datetime64("1955-01-01") + days.astype("timedelta64[D]")
    serial = np.arange(1, n + 1) % 997 + 1
    out = make_insz(births.astype("datetime64[D]"), serial)
    return list(dict.fromkeys(out.to_pylist()))


def write_warehouse(
    out: Path,
    years: tuple[int, int],
    rows: dict[str, list[dict[str, Any]]],
    *,
    seed: int = 0,
) -> Path:
    """Write every table (empty when no rows are given) in the warehouse layout."""
    out = Path(out)
    for t in TABLES:
        data = rows.get(t.name, [])
        if t.by_year:
            for y in range(years[0], years[1] + 1):
                part = [r for r in data if r["year"] == y]
                _write(t, part, table_path(out, t.name, y))
        else:
            _write(t, data, table_path(out, t.name))
    digest = hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()
    write_meta(
        out,
        {
            "id": f"wh-test-{digest[:12]}",
            "seed": seed,
            "persons": len(rows.get("persons", [])),
            "years": list(years),
            "generator": "tests/spec/tinywh.py",
        },
    )
    return out


def _write(t, data: list[dict[str, Any]], path: Path) -> None:
    schema = t.arrow_schema
    cols = {f.name: [r.get(f.name) for r in data] for f in schema}
    table = pa.Table.from_pydict(cols, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def random_warehouse(out: Path, persons: int, years: tuple[int, int], seed: int) -> Path:
    """A random warehouse: births 1950-2012, some deaths, emigration, waiting register;
    person_year rows for ages 13-66 while alive, with varying situations."""
    rng = np.random.default_rng(seed)
    ids = insz_numbers(persons, seed)
    n = len(ids)
    birth = [D(1950, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 62 * 365, n)]
    died = rng.random(n) < 0.08
    death = [
        D(int(rng.integers(years[0], years[1] + 1)), int(rng.integers(1, 13)), 1) if d else None
        for d in died
    ]
    waiting = rng.random(n) < 0.03
    countries = list(codes("country").codes)
    provinces = list(codes("province").codes)
    lipro = list(codes("lipro").codes)
    levels = list(codes("isced_level").codes)
    fields = list(codes("isced_field").codes)
    seps = list(codes("sep").codes)
    naces = list(codes("nace").codes)
    med = list(codes("medical_code").codes)
    persons_rows = [
        person(
            ids[i],
            birth[i],
            sex=str(1 + i % 2),
            nationality=countries[int(rng.integers(len(countries)))] if i % 7 == 0 else "BE",
            birth_country=countries[int(rng.integers(len(countries)))] if i % 5 == 0 else "BE",
            waiting_register=bool(waiting[i]),
            death_date=death[i],
            nr_registration_year=max(birth[i].year, 1990 + i % 30),
        )
        for i in range(n)
    ]
    py_rows, spells, dis, wel = [], [], [], []
    for y in range(years[0], years[1] + 1):
        for i in range(n):
            age = y - birth[i].year
            if not 13 <= age <= 66:
                continue
            if death[i] is not None and death[i] <= D(y, 12, 31):
                continue
            if rng.random() < 0.03:  # not known this year (emigrated)
                continue
            working = rng.random() < 0.65
            resident = rng.random() > 0.04
            py_rows.append(
                person_year(
                    ids[i],
                    y,
                    resident=resident,
                    province=provinces[int(rng.integers(len(provinces)))] if resident else None,
                    household_type=lipro[int(rng.integers(len(lipro)))],
                    n_children=int(rng.integers(0, 5)),
                    education_level=levels[int(rng.integers(len(levels)))],
                    education_field=fields[int(rng.integers(len(fields)))],
                    sep_code=seps[0] if working else seps[int(rng.integers(len(seps)))],
                    months_registered=None if working else int(rng.integers(0, 100)),
                    months_unemployed=None if working else int(rng.integers(0, 100)),
                    nace=naces[int(rng.integers(len(naces)))] if working else None,
                    work_performance_type="1" if working else None,
                    gross_daily_wage=float(np.round(rng.lognormal(4.8, 0.4), 2))
                    if working
                    else None,
                    fte_excl_assimilated=float(np.round(rng.random() * 1.2, 3)) if working else 0.0,
                    work_intensity_eu=float(np.round(rng.random(), 3)),
                    work_intensity_be=float(np.round(rng.random(), 3)),
                    st_known_rva=bool(rng.random() < 0.1),
                    sanctioned=bool(rng.random() < 0.02),
                )
            )
            if rng.random() < 0.1:
                start = D(y, int(rng.integers(1, 13)), 1)
                spells.append(
                    spell(
                        ids[i],
                        y,
                        "INC",
                        start,
                        None if rng.random() < 0.5 else D(y + 1, 3, 31),
                        incapacity_day_type="1",
                        medical_code_type="1",
                        medical_code=med[int(rng.integers(len(med)))],
                    )
                )
            if rng.random() < 0.05:
                spells.append(
                    spell(
                        ids[i],
                        y,
                        "PAY",
                        D(y, 10, 1),
                        D(y, 12, 31),
                        benefit_type="2",
                        benefit_code="11",
                    )
                )
            if rng.random() < 0.03:
                dis.append({"insz": ids[i], "year": y, "allowance_type": "1"})
            if rng.random() < 0.04:
                wel.append({"insz": ids[i], "year": y, "level": 1, "support_type": "1"})
                wel.append({"insz": ids[i], "year": y, "level": 2, "support_type": "1.2"})
    return write_warehouse(
        out,
        years,
        {
            "persons": persons_rows,
            "person_year": py_rows,
            "ss_spells": spells,
            "disability_allowances": dis,
            "welfare_support": wel,
        },
        seed=seed,
    )


def small_deliberation(
    directory: Path,
    years: tuple[int, int],
    persons_per_year: int | None = None,
    source: Path | None = None,
) -> Path:
    """deliberations/26-104.yaml with other years (and sample size): same variables, tables,
    offsets and dates, so tests run the real deliberation on a few years."""
    import yaml

    src = source or Path(__file__).resolve().parents[2] / "deliberations" / "26-104.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    data["population"]["years"] = {"first": years[0], "last": years[1]}
    if persons_per_year is not None:
        data["phases"]["development"]["spec"]["persons_per_year"] = persons_per_year
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "26-104.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def expected_population(warehouse: Path, year: int) -> set[str]:
    """The 26/104 population of `year` computed straight from the Parquet files (independent
    of kluis.extract): resident, 15-64 on 31 December, not in the waiting register, alive."""
    p = pq.read_table(table_path(warehouse, "persons")).to_pylist()
    by_id = {r["insz"]: r for r in p}
    out = set()
    for r in pq.read_table(table_path(warehouse, "person_year", year)).to_pylist():
        q = by_id[r["insz"]]
        age = year - q["birth_date"].year
        dead = q["death_date"] is not None and q["death_date"] <= D(year, 12, 31)
        if r["resident"] and 15 <= age <= 64 and not q["waiting_register"] and not dead:
            out.add(r["insz"])
    return out
