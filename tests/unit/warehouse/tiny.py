"""A hand-made, valid 12-person warehouse (2024-2025) whose figures can be counted by hand.

Used by the validator tests (each breaks one thing) and the profile tests (each figure is
recounted from the rows below). Written straight from the schema declaration, not by the
generator, so the tests do not depend on the generator's choices.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kluis.schema import TABLES, Table
from kluis.schema import table as schema_table
from kluis.warehouse import identifiers as ids
from kluis.warehouse.layout import file_digests, table_path, warehouse_id, write_meta

YEARS = (2024, 2025)
D = dt.date


def insz(birth: dt.date, serial: int, bis: bool = False) -> str:
    return ids.make_insz(
        np.array([birth], dtype="datetime64[D]"), np.array([serial]), bis=np.array([bis])
    )[0].as_py()


def rsz(base: int) -> str:
    return ids.rsz_from_base(np.array([base]))[0].as_py()


def kbo(base: int) -> str:
    return ids.kbo_from_base(np.array([base]))[0].as_py()


# key: (birth, serial (odd = man), bis, sex, nationality, waiting register, death)
PEOPLE: dict[str, tuple] = {
    "P1": (D(1980, 5, 1), 1, False, "1", "BE", False, None),
    "P2": (D(1990, 3, 10), 2, False, "2", "BE", False, None),
    "P3": (D(1975, 7, 20), 3, False, "1", "FR", False, None),
    "P4": (D(2000, 1, 15), 4, False, "2", "BE", False, None),
    "P5": (D(1960, 2, 2), 5, False, "1", "BE", False, None),  # 65 in 2025: outside 15-64
    "P6": (D(2011, 6, 6), 6, False, "2", "BE", False, None),  # 14 in 2025: outside 15-64
    "P7": (D(1985, 9, 9), 8, False, "2", "MA", True, None),  # waiting register
    "P8": (D(1970, 12, 12), 9, False, "1", "BE", False, None),  # not resident
    "P9": (D(1995, 4, 4), 10, False, "2", "BE", False, None),
    "P10": (D(1982, 8, 8), 11, False, "1", "BE", False, D(2025, 3, 1)),  # dies in 2025
    "P11": (D(1988, 11, 11), 12, False, "2", "BE", False, None),
    "P12": (D(1978, 1, 1), 13, True, "1", "NL", False, None),  # BIS number
}
ID = {k: insz(v[0], v[1], v[2]) for k, v in PEOPLE.items()}
RSZ = {"E1": rsz(1_234_567), "E2": rsz(2_345_678), "E3": rsz(3_456_789)}
KBO = {"E1": kbo(4_012_345), "E2": kbo(4_123_456), "E3": kbo(10_234_567)}

# person_year of 2025, the profile's year: (person, resident, province, sep, work type, daily
# wage, education level). P10 died in 2025 and has no 2025 row.
PY_2025: list[tuple] = [
    ("P1", True, "10000", "1.1.1", "1", 150.0, "710"),  # Flanders, man, full-time
    ("P2", True, "10000", "1.1.1", "2", 90.0, "330"),  # Flanders, woman, part-time
    ("P3", True, "21000", "2.1", None, None, "220"),  # Brussels, man, job-seeker, FR
    ("P4", True, "60000", "1.1.2", "1", 120.0, "610"),  # Wallonia, woman, full-time
    ("P5", True, "50000", "3.7", None, None, "100"),  # Wallonia, 65: not in the population
    ("P6", True, "40000", "3.6", None, None, "100"),  # 14: not in the population
    ("P7", True, "21000", "3.9", None, None, "999"),  # waiting register: not in population
    ("P8", False, None, "1.1.1", "1", 300.0, "710"),  # not resident: not in the population
    ("P9", True, "20001", "3.3", None, None, "220"),  # Flanders, woman, social integration
    ("P11", True, "10000", "3.8", None, None, "310"),  # Flanders, woman, disability allowance
    ("P12", True, "70000", "1.1.1", "1", 200.0, "220"),  # Flanders, man, full-time, NL
]
# 2024: the same people (P5 is 64, P6 13) plus P10, alive on 31 December 2024.
PY_2024: list[tuple] = [*PY_2025, ("P10", True, "90000", "1.1.1", "1", 110.0, "330")]

EMPLOYERS = [  # (employer, nace, sector, founded, closed, size class)
    ("E1", "62", "1", 1999, None, "1"),
    ("E2", "84", "2", 2010, None, "1"),
    ("E3", "47", "1", 2020, None, "1"),
]
# (person, employer, year, annual wage, fte, days, on 31 December)
EMPLOYMENTS = [
    ("P1", "E1", 2024, 45_000.0, 1.0, 260, True),
    ("P1", "E1", 2025, 46_000.0, 1.0, 260, True),
    ("P2", "E1", 2025, 14_000.0, 0.5, 260, True),
    ("P4", "E2", 2025, 36_000.0, 1.0, 260, True),
    ("P8", "E2", 2025, 80_000.0, 1.0, 260, True),
    ("P12", "E3", 2025, 60_000.0, 1.0, 260, True),
    ("P12", "E1", 2025, 3_000.0, 0.2, 40, False),
    ("P10", "E3", 2024, 30_000.0, 1.0, 260, True),
]
SPELLS = [("P5", 2025, "INC", D(2022, 1, 10), None), ("P5", 2024, "INC", D(2022, 1, 10), None)]
DISABILITY = [("P11", 2025, "1"), ("P11", 2024, "1")]
WELFARE = [("P9", 2025, 1, "1"), ("P9", 2025, 2, "1.2"), ("P9", 2024, 1, "1")]


def _default(t: Table, name: str) -> Any:
    c = t.column(name)
    if c.nullable:
        return None
    return {"bool": False, "date": D(2000, 1, 1)}.get(c.type, 0 if c.type != "string" else "")


def arrow_table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as a table with exactly the declared schema (undeclared fields: default)."""
    t = schema_table(name)
    data = {c.name: [r.get(c.name, _default(t, c.name)) for r in rows] for c in t.columns}
    return pa.Table.from_pydict(data, schema=t.arrow_schema)


def _tables() -> dict[tuple[str, int | None], list[dict[str, Any]]]:
    out: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    out[("persons", None)] = [
        {
            "insz": ID[k],
            "birth_date": b,
            "sex": sex,
            "nationality": nat,
            "first_nationality": nat,
            "birth_country": nat,
            "foreign_origin_known": nat != "BE",
            "foreign_origin_country": None if nat == "BE" else nat,
            "migrant_descent": nat != "BE",
            "descent_country": None if nat == "BE" else nat,
            "nr_registration_year": max(b.year, 1990),
            "waiting_register": wait,
            "death_date": death,
        }
        for k, (b, _s, _bis, sex, nat, wait, death) in PEOPLE.items()
    ]
    for year, rows in ((2024, PY_2024), (2025, PY_2025)):
        out[("person_year", year)] = [
            {
                "insz": ID[p],
                "year": year,
                "resident": res,
                "province": prov,
                "household_type": "01",
                "n_children": 0,
                "education_level": edu,
                "sep_code": sep,
                "work_performance_type": wpt,
                "gross_daily_wage": wage,
                "fte_excl_assimilated": 1.0 if wpt == "1" else None,
                "cross_border": not res,
            }
            for p, res, prov, sep, wpt, wage, edu in rows
        ]
    out[("employers", None)] = [
        {
            "kbo_number": KBO[e],
            "rsz_number": RSZ[e],
            "nace": nace,
            "sector": sector,
            "founded_year": f,
            "closed_year": c,
            "size_class": size,
        }
        for e, nace, sector, f, c, size in EMPLOYERS
    ]
    for year in YEARS:
        out[("employments", year)] = [
            {
                "insz": ID[p],
                "rsz_number": RSZ[e],
                "year": y,
                "gross_taxable_annual_wage": w,
                "fte": fte,
                "days": days,
                "on_31_dec": on,
            }
            for p, e, y, w, fte, days, on in EMPLOYMENTS
            if y == year
        ]
        out[("ss_spells", year)] = [
            {
                "insz": ID[p],
                "year": y,
                "kind": k,
                "start_date": s,
                "end_date": e,
                "incapacity_day_type": "1",
            }
            for p, y, k, s, e in SPELLS
            if y == year
        ]
        out[("disability_allowances", year)] = [
            {"insz": ID[p], "year": y, "allowance_type": a} for p, y, a in DISABILITY if y == year
        ]
        out[("welfare_support", year)] = [
            {"insz": ID[p], "year": y, "level": lv, "support_type": s}
            for p, y, lv, s in WELFARE
            if y == year
        ]
    return out


def write_file(root: Path, table: pa.Table, name: str, year: int | None = None) -> Path:
    path = table_path(root, name, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def seal(root: Path, persons: int = 7) -> None:
    """(Re)write warehouse.json with the id of the files as they are now."""
    write_meta(
        root,
        {
            "id": warehouse_id(file_digests(root)),
            "seed": 0,
            "persons": persons,
            "years": list(YEARS),
            "generator": "tiny-test",
        },
    )


def build(root: Path) -> Path:
    """Write the tiny warehouse into `root` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for (name, year), rows in _tables().items():
        write_file(root, arrow_table(name, rows), name, year)
    assert {t.name for t in TABLES} == {n for n, _ in _tables()}
    seal(root)
    return root


def read(root: Path, name: str, year: int | None = None) -> pa.Table:
    return pq.read_table(table_path(root, name, year))


def replace_value(
    root: Path, name: str, year: int | None, row: int, column: str, value: Any
) -> None:
    """Set one cell (row counted from 0) and rewrite the file with the declared schema."""
    t = read(root, name, year)
    values = t.column(column).to_pylist()
    values[row] = value
    field = t.schema.field(column)
    if value is None:
        field = field.with_nullable(True)
    t = t.set_column(t.schema.get_field_index(column), field, pa.array(values, type=field.type))
    pq.write_table(t, table_path(root, name, year))
