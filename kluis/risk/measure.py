"""All risk measures of one table, computed in the engine: the body of risk.json.

Works on the positional records table built by `source.build_records` (s, k0.., n, w, ...). With a
year column every frequency is counted within its year (each year is a table an attacker meets
on its own); totals add the years up, and `per_year` gives each year. The longitudinal measures
link the years through the person's sequence number (longitudinal.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from kluis.risk import ldiversity, longitudinal
from kluis.risk.frequencies import frequencies, patterns
from kluis.risk.individual import DEC, Estimate, add_risk, exact_sum, household_expected
from kluis.risk.source import Study
from kluis.risk.sql import klist, same_keys

#: k-anonymity is always reported for these k, and for the study's own k
STANDARD_K = (2, 3, 5)
#: bands of individual risk for the distribution in risk.json
RISK_BANDS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)


def ks_for(k: int) -> list[int]:
    return sorted({*STANDARD_K, k})


@dataclass
class Measured:
    """risk.json's measures plus the engine tables the report draws from."""

    body: dict
    riskpat: str
    top: list[dict] = field(default_factory=list)
    histogram: list[tuple[float, int]] = field(default_factory=list)


def _counts(con: duckdb.DuckDBPyConnection, riskpat: str, ks: Sequence[int], by: str) -> list:
    viol = ", ".join(f"coalesce(sum(n) FILTER (WHERE fk < {k}), 0)::BIGINT" for k in ks)
    bands = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE risk >= {lo}"
        + (f" AND risk < {hi}" if hi is not None else "")
        + "), 0)::BIGINT"
        for lo, hi in zip(RISK_BANDS, (*RISK_BANDS[1:], None), strict=True)
    )
    group = f"GROUP BY {by} ORDER BY {by}" if by else ""
    select_by = f"{by}, " if by else "0, "
    return con.execute(
        f"""SELECT {select_by} sum(n)::BIGINT, count(*)::BIGINT,
                   coalesce(sum(n) FILTER (WHERE fk = 1), 0)::BIGINT,
                   coalesce(sum(n) FILTER (WHERE fk = 2), 0)::BIGINT,
                   CAST({exact_sum("n * risk")} AS DOUBLE), max(risk), {viol}, {bands}
            FROM {riskpat} {group}"""
    ).fetchall()


def _body(row: tuple, ks: Sequence[int]) -> dict:
    _, records, patterns_, uniques, pairs, er, max_risk = row[:7]
    viol = row[7 : 7 + len(ks)]
    bands = row[7 + len(ks) :]
    records = int(records)
    er = float(er or 0.0)
    labels = [f"{lo}-{hi}" for lo, hi in zip(RISK_BANDS, RISK_BANDS[1:], strict=False)] + [
        f">={RISK_BANDS[-1]}"
    ]
    return {
        "records": records,
        "key_patterns": int(patterns_),
        "sample_uniques": int(uniques),
        "sample_pairs": int(pairs),
        "k_violations": {str(k): int(v) for k, v in zip(ks, viol, strict=True)},
        "expected_reidentifications": er,
        "global_risk": er / records if records else 0.0,
        "global_risk_pct": 100 * er / records if records else 0.0,
        "max_individual_risk": float(max_risk or 0.0),
        "records_by_individual_risk": {
            label: int(v) for label, v in zip(labels, bands, strict=True)
        },
    }


def measure(
    con: duckdb.DuckDBPyConnection,
    study: Study,
    records: str,
    *,
    estimate: Estimate,
    population: str | None = None,
    contributions: bool = True,
    prefix: str = "m",
) -> Measured:
    """Every measure the study asks for. `population`: a relation (s, k0.., n, w) of the full
    population, when Fk is the population count."""
    n_keys = len(study.keys)
    ks = ks_for(study.k)
    pat, pop = f"{prefix}_pat", None
    patterns(con, records, n_keys, pat)
    if population is not None:
        pop = f"{prefix}_pop"
        patterns(con, population, n_keys, pop)
    freq, riskpat = f"{prefix}_freq", f"{prefix}_risk"
    frequencies(con, pat, n_keys, freq, population=pop, aggregated=True)
    add_risk(con, freq, riskpat, estimate)
    con.execute(f"DROP TABLE IF EXISTS {freq}")

    total = _body(_counts(con, riskpat, ks, "")[0], ks)
    body: dict = {**total}
    if study.year is not None:
        body["per_year"] = {str(row[0]): _body(row, ks) for row in _counts(con, riskpat, ks, "s")}
    record_level = study.household or study.person or study.sensitive
    if record_level:
        _record_risk(con, records, riskpat, n_keys, f"{prefix}_rec")
    if study.household is not None:
        per = household_expected(con, f"{prefix}_rec")
        body["household_expected_reidentifications"] = _sum_decimal(per.values())
        if study.year is not None:
            for s, v in per.items():
                body["per_year"][str(s)]["household_expected_reidentifications"] = v
    if study.sensitive is not None:
        groups = f"{prefix}_ldiv"
        ldiversity.group_ldiversity(con, records, n_keys, groups, study.l_recursive_c)
        per_l = ldiversity.summary(con, groups)
        body["l_diversity"] = {
            "sensitive": study.sensitive,
            "recursive_c": study.l_recursive_c,
            **_merge_l(per_l),
        }
        if study.year is not None:
            for s, v in per_l.items():
                body["per_year"][str(s)]["l_diversity"] = v
    if study.person is not None:
        panel = f"{prefix}_panel"
        longitudinal.panel_frequencies(con, records, n_keys, panel)
        body["longitudinal"] = longitudinal.summary(con, panel, f"{prefix}_rec", ks)
    if contributions and n_keys > 1:
        body["key_contributions"] = key_contributions(con, study, pat, pop, estimate, total, prefix)
    out = Measured(body=body, riskpat=riskpat)
    out.top = top_patterns(con, riskpat, study)
    out.histogram = risk_histogram(con, riskpat)
    return out


def _sum_decimal(values) -> float:
    from decimal import Decimal

    return float(sum((Decimal(repr(v)) for v in values), Decimal(0)))


def _merge_l(per: dict[int, dict]) -> dict:
    if not per:
        return {}
    vals = list(per.values())
    return {
        "records": sum(v["records"] for v in vals),
        "min_distinct_l": min(v["min_distinct_l"] for v in vals),
        "min_entropy_l": min(v["min_entropy_l"] for v in vals),
        "min_recursive_l": min(v["min_recursive_l"] for v in vals),
        "records_with_distinct_l_1": sum(v["records_with_distinct_l_1"] for v in vals),
        "records_with_distinct_l_at_most_2": sum(
            v["records_with_distinct_l_at_most_2"] for v in vals
        ),
    }


def _record_risk(
    con: duckdb.DuckDBPyConnection, records: str, riskpat: str, n_keys: int, out: str
) -> None:
    """`out`: per record (rid, s, person, hid, fk, risk)."""
    cols = {c[0] for c in con.execute(f"DESCRIBE {records}").fetchall()}
    extra = "".join(f", r.{c}" for c in ("person", "hid") if c in cols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT r.rowid AS rid, r.s {extra}, p.fk, p.risk
        FROM {records} r JOIN {riskpat} p ON p.s = r.s AND {same_keys(n_keys, "r", "p")}"""
    )


def key_contributions(
    con: duckdb.DuckDBPyConnection,
    study: Study,
    pat: str,
    pop: str | None,
    estimate: Estimate,
    total: dict,
    prefix: str,
) -> dict:
    """What each key adds: the sample uniques and expected re-identifications with that key
    left out (recounted from the aggregated patterns, so cheap even for a full population)."""
    n_keys = len(study.keys)
    out = {}
    for drop, name in enumerate(study.keys):
        kept = [i for i in range(n_keys) if i != drop]
        proj = ", ".join(f"k{j} AS k{new}" for new, j in enumerate(kept))
        con.execute(f"CREATE OR REPLACE TEMP VIEW {prefix}_cs AS SELECT s, {proj}, n, w FROM {pat}")
        pop_view = None
        if pop is not None:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {prefix}_cp AS SELECT s, {proj}, n, w FROM {pop}"
            )
            pop_view = f"{prefix}_cp"
        frequencies(con, f"{prefix}_cs", n_keys - 1, f"{prefix}_cf", population=pop_view)
        add_risk(con, f"{prefix}_cf", f"{prefix}_cr", estimate)
        uniques, er = con.execute(
            f"""SELECT coalesce(sum(n) FILTER (WHERE fk = 1), 0)::BIGINT,
                       CAST({exact_sum("n * risk")} AS DOUBLE) FROM {prefix}_cr"""
        ).fetchall()[0]
        out[name] = {
            "sample_uniques_without": int(uniques),
            "expected_reidentifications_without": float(er or 0.0),
            "sample_uniques_due": total["sample_uniques"] - int(uniques),
            "expected_reidentifications_due": total["expected_reidentifications"]
            - float(er or 0.0),
        }
    for t in ("_cf", "_cr"):
        con.execute(f"DROP TABLE IF EXISTS {prefix}{t}")
    return out


def top_patterns(
    con: duckdb.DuckDBPyConnection, riskpat: str, study: Study, limit: int = 20
) -> list[dict]:
    """The riskiest key combinations (highest individual risk, then rarest)."""
    rows = con.execute(
        f"""SELECT s, {klist(len(study.keys))}, n, fk, fpop, risk FROM {riskpat}
            ORDER BY risk DESC, fk, s, {klist(len(study.keys))} LIMIT {limit}"""
    ).fetchall()
    out = []
    for row in rows:
        s, vals, (n, fk, fpop, risk) = row[0], row[1 : 1 + len(study.keys)], row[-4:]
        entry = {
            "values": {
                k: ("(missing)" if v is None else str(v))
                for k, v in zip(study.keys, vals, strict=True)
            },
            "records": int(n),
            "fk": int(fk),
            "Fk": float(fpop),
            "risk": float(risk),
        }
        if study.year is not None:
            entry["year"] = int(s)
        out.append(entry)
    return out


def risk_histogram(con: duckdb.DuckDBPyConnection, riskpat: str, bins: int = 50) -> list:
    """(bin start, records) of the individual risk over [0, 1]."""
    rows = con.execute(
        f"""SELECT least(floor(risk * {bins}), {bins - 1})::INTEGER AS b, sum(n)::BIGINT
            FROM {riskpat} GROUP BY b ORDER BY b"""
    ).fetchall()
    return [(b / bins, int(c)) for b, c in rows]


__all__ = ["DEC", "Measured", "measure", "ks_for"]
