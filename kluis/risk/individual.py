"""Individual re-identification risk of each key pattern, as sdcMicro's `indivRisk`.

The Benedetti-Franconi approximation (sdcMicro `indivRisk(method = "approx")`, which
`measure_risk` and `createSdcObj` use), with pk = fk / Fk:
- fk = 1: pk / (1 - pk) * ln(1 / pk)
- fk = 2: pk / (1 - pk) - (pk / (1 - pk))^2 * ln(1 / pk)
- fk > 2: pk / (fk - (1 - pk))
- any other fk: 0 (sdcMicro's default branch)
and, overriding all of these, 1 / fk where fk = Fk (the whole population is in the sample).
Data without weights or population (sdcMicro's survey = FALSE): 1 / fk.

Global risk follows `measure_risk`: the expected number of re-identifications is the sum of the
records' risks, the global risk their mean. Household risk: a household is re-identified when
one of its members is, so each member gets 1 - prod(1 - r) over the household; the expected
number is the sum of that over records, as sdcMicro's `hier_risk_ER`.

Sums are taken in DECIMAL(38, 18) after rounding each term: exact, so a report does not change
in its last digit with the order in which threads add.
"""

from __future__ import annotations

from typing import Literal

import duckdb

Estimate = Literal["weights", "population", "none"]

#: exact, order-independent sum of a DOUBLE expression
DEC = "DECIMAL(38, 18)"


def risk_sql(estimate: Estimate, fk: str = "fk", fpop: str = "fpop") -> str:
    """SQL for the individual risk of a pattern with sample frequency `fk` and estimate `fpop`."""
    if estimate == "none":
        return f"(1.0 / {fk})"
    pk = f"({fk}::DOUBLE / {fpop})"
    odds = f"({pk} / (1 - {pk}))"
    return f"""(CASE
        WHEN {fk} = {fpop} THEN 1.0 / {fk}
        WHEN {fk} > 2 THEN {pk} / ({fk} - (1 - {pk}))
        WHEN {fk} = 2 THEN {odds} - pow({odds}, 2) * ln(1 / {pk})
        WHEN {fk} = 1 THEN {odds} * ln(1 / {pk})
        ELSE 0.0 END)"""


def add_risk(con: duckdb.DuckDBPyConnection, freq: str, out: str, estimate: Estimate) -> None:
    """`out`: the pattern table `freq` with its individual risk `risk`."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT *, {risk_sql(estimate)} AS risk FROM {freq}"
    )


def exact_sum(expr: str) -> str:
    """An order-independent sum of a DOUBLE expression (rounded to 1e-18 per term)."""
    return f"sum(CAST({expr} AS {DEC}))"


def household_expected(
    con: duckdb.DuckDBPyConnection, record_risk: str, by_stratum: bool = True
) -> dict[int, float]:
    """Per stratum: the sum over records of their household's risk 1 - prod(1 - r).

    `record_risk` has one row per record with columns s, hid, risk. Records without a household
    id form a household of their own (as sdcMicro, which groups by the id; NULL ids are not
    grouped together there either)."""
    del by_stratum
    rows = con.execute(
        f"""WITH hh AS (
              SELECT s, hid, count(*) AS m,
                     CASE WHEN bool_or(risk >= 1) THEN 1.0
                          ELSE 1 - exp(CAST({exact_sum("ln(1 - risk)")} AS DOUBLE)) END AS hr
              FROM (SELECT s, coalesce(CAST(hid AS VARCHAR), '#' || rid::VARCHAR) AS hid,
                           risk FROM {record_risk})
              GROUP BY s, hid)
            SELECT s, CAST({exact_sum("m * hr")} AS DOUBLE) FROM hh GROUP BY s ORDER BY s"""
    ).fetchall()
    return {int(s): float(v) for s, v in rows}
