"""Hand-made values for every coarsening scheme, with the expected output written out by hand
(classes, groups, deciles, year-months) — shared by the unit test (DuckDB) and the spec test
(DuckDB and Spark)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pyarrow as pa

from kluis.deliberation.coarsening import CATALOGUE
from kluis.engine import Engine
from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery.formats import conform_output
from kluis.extract.recode import describe, recode

D = dt.date
CUTS = tuple(float(c) for c in range(10, 100, 10))  # deciles of 1..100

# scheme -> (source type, code list, inputs, expected outputs)
CASES: dict[str, tuple[str, str | None, list[Any], list[Any]]] = {
    "none": ("string", "sex", ["1", "2", None], ["1", "2", None]),
    "age_5y": (
        "int16",
        None,
        [14, 15, 19, 20, 44, 60, 64, 65, None],
        [None, "15-19", "15-19", "20-24", "40-44", "60-64", "60-64", None, None],
    ),
    "age_10y": (
        "int16",
        None,
        [14, 15, 24, 25, 64, 65],
        [None, "15-24", "15-24", "25-34", "55-64", None],
    ),
    "country_group": (
        "string",
        "country",
        ["BE", "NL", "MA", "TR", None],
        ["Belgium", "Neighbouring country", "Maghreb", "Turkey", None],
    ),
    "country_eu": (
        "string",
        "country",
        ["BE", "FR", "PL", "GB", "MA", None],
        ["Belgium", "Other EU", "Other EU", "non-EU", "non-EU", None],
    ),
    "province_region": (
        "string",
        "province",
        ["10000", "21000", "60000", "20001"],
        ["Flanders", "Brussels", "Wallonia", "Flanders"],
    ),
    "nace_section": ("string", "nace", ["01", "47", "62", "84"], ["A", "G", "J", "O"]),
    "isced_broad": ("string", "isced_level", ["100", "340", "710"], ["low", "medium", "high"]),
    "isced_level_1d": ("string", "isced_level", ["000", "220", "800"], ["0", "2", "8"]),
    "isced_field_broad": (
        "string",
        "isced_field",
        ["011", "041", "061", "999"],
        ["01", "04", "06", "99"],
    ),
    "sep_group": ("string", "sep", ["1.1.1", "1.2", "3.3"], ["1", "1", "3"]),
    "children_classes": ("int8", None, [0, 1, 2, 3, 7, None], ["0", "1", "2", "3+", "3+", None]),
    "months_classes": (
        "int16",
        None,
        [0, 1, 3, 4, 6, 7, 12, 13, 24, 25, 60, 61, 400],
        [
            "0",
            "1-3",
            "1-3",
            "4-6",
            "4-6",
            "7-12",
            "7-12",
            "13-24",
            "13-24",
            "25-60",
            "25-60",
            "61+",
            "61+",
        ],
    ),
    "registration_year": ("int16", None, [1990, 2024, None], [1990, 2024, None]),
    "daily_wage_classes": (
        "float64",
        None,
        [-1.0, 0.0, 49.99, 50.0, 99.5, 299.99, 300.0, 2500.0, None],
        [None, "0-<50", "0-<50", "50-<75", "75-<100", "250-<300", "300+", "300+", None],
    ),
    "daily_wage_deciles": (
        "float64",
        None,
        [1.0, 10.0, 10.5, 55.0, 90.0, 90.01, 1000.0, None],
        ["D1", "D1", "D2", "D6", "D9", "D10", "D10", None],
    ),
    "fte_classes": (
        "float64",
        None,
        [0.0, 0.2499, 0.25, 0.5, 0.999, 1.0, 1.7],
        ["0-<0.25", "0-<0.25", "0.25-<0.5", "0.5-<0.75", "0.75-<1", "1+", "1+"],
    ),
    "work_intensity_classes": (
        "float64",
        None,
        [0.0, 0.19, 0.2, 0.45, 0.55, 0.85, 1.0, 1.01],
        [
            "very low (0-<0.2)",
            "very low (0-<0.2)",
            "low (0.2-<0.45)",
            "medium (0.45-<0.55)",
            "high (0.55-<0.85)",
            "very high (0.85-1)",
            "very high (0.85-1)",
            None,
        ],
    ),
    "annual_wage_classes": (
        "float64",
        None,
        [5_000.0, 10_000.0, 99_999.0, 100_000.0, 1e6],
        ["0-<10k", "10k-<20k", "80k-<100k", "100k+", "100k+"],
    ),
    "fte_mean_classes": (
        "float64",
        None,
        [0.1, 0.9, 0.95, 1.0],
        ["0-<0.25", "0.9-<1", "0.9-<1", "1+"],
    ),
    "mean_age_classes": (
        "float64",
        None,
        [18.0, 25.0, 54.9, 55.0, 70.0],
        ["<25", "25-<30", "50-<55", "55+", "55+"],
    ),
    "year_month": (
        "date",
        None,
        [D(2024, 3, 15), D(1999, 12, 31), None],
        ["2024-03", "1999-12", None],
    ),
    "year": ("date", None, [D(2024, 3, 15), D(1999, 12, 31), None], [2024, 1999, None]),
}

_ARROW = {
    "string": pa.string(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


def _prepare(engine: Engine, name: str):
    source_type, codes, inputs, _expected = CASES[name]
    scheme = CATALOGUE[name]
    kind, categories = describe(scheme, source_type, codes)
    data = pa.table(
        {"i": pa.array(range(len(inputs)), pa.int32()), "v": pa.array(inputs, _ARROW[source_type])}
    )
    t = engine.register(data, hint="case")
    cuts = CUTS if scheme.kind == "deciles" else None
    expr = t.select("i", out=recode(t.v, scheme, source_type=source_type, cuts=cuts))
    return expr, ColumnMeta("out", kind, categories=categories)


def _final(meta: ColumnMeta, got: pa.Table) -> list[Any]:
    """What would land in Parquet for the recoded column."""
    table = OutputTable("case", (meta,), {}, ("out",))
    col = conform_output(table, got.select(["out"])).column("out")
    if meta.kind == "category":
        col = col.cast(pa.string())
    return col.to_pylist()


def run_case(engine: Engine, name: str) -> list[Any]:
    """Recode one case's inputs on `engine`."""
    expr, meta = _prepare(engine, name)
    return _final(meta, engine.to_arrow(expr.order_by("i")))


def run_cases(engine: Engine) -> dict[str, list[Any]]:
    """Every case in one query (a union, outputs as strings): one round trip on Spark."""
    parts, metas = [], {}
    for n, name in enumerate(sorted(CASES)):
        expr, meta = _prepare(engine, name)
        metas[name] = meta
        parts.append(expr.select(c=ibis.literal(n, "int32"), i=expr.i, out=expr.out.cast("string")))
    got = engine.to_arrow(ibis.union(*parts).order_by(["c", "i"]))
    result = {}
    for n, name in enumerate(sorted(CASES)):
        rows = [r for r in got.to_pylist() if r["c"] == n]
        raw = [r["out"] for r in rows]
        meta = metas[name]
        typed = pa.array(raw, pa.string())
        if meta.kind == "category" and name in _CODED:
            typed = typed.cast(pa.int16())
        elif meta.kind in ("integer", "yearmonth"):
            typed = typed.cast(pa.int64())
        result[name] = _final(meta, pa.table({"out": typed}))
    return result


# schemes whose engine output is a class code (the others give the category value itself)
_CODED = {n for n, s in CATALOGUE.items() if s.kind in ("classes", "deciles")}


__all__ = ["CASES", "CUTS", "run_case", "run_cases"]
