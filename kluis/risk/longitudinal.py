"""Longitudinal (panel) risk: one person in up to seven yearly tables under one sequence number.

Per-year measures treat each year's table alone; an attacker who knows a person's key values in
several years (age class, province, household type ... year after year) links the yearly rows
through the sequence number and searches for that trajectory. A person whose every yearly row is
k-anonymous can still be the only one with their trajectory.

Two measures per person, both computed with group-bys in the engine:
- trajectory: the person's (year, key values) for all the years they appear, compared exactly;
  unique when no other person has the same years with the same values;
- attacker's match: the attacker knows the person's (year, key values) pairs and looks for every
  person whose rows contain all of them (the other person may appear in more years). The count
  of such persons is the person's panel frequency; 1 means unique over their years. It is
  computed per set of years Y present: every person appearing in all years of Y is projected on
  Y and counted.
Missing key values count as a value of their own here (the panel is compared as released).
`unique_in_some_year` uses the per-year frequencies (sdcMicro's missing-value rule).
"""

from __future__ import annotations

import duckdb

from kluis.errors import BadInput
from kluis.risk.sql import klist, same_keys


def panel_frequencies(con: duckdb.DuckDBPyConnection, records: str, n_keys: int, out: str) -> None:
    """`out`: one row per person (person, years, trajectory_count, match_count).

    Years are pivoted into columns y0.. (the number of the person's key pattern that year, NULL
    when absent), so trajectories are compared with plain group-bys, no ordered aggregate."""
    n_years = con.execute(f"SELECT count(DISTINCT s) FROM {records}").fetchall()[0][0]
    if n_years > 62:
        raise BadInput(f"{n_years} distinct years: the panel measure handles at most 62")
    ycols = [f"y{i}" for i in range(n_years)]
    ks = klist(n_keys)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out}_rows AS
        WITH yi AS (SELECT s, (row_number() OVER (ORDER BY s) - 1)::INTEGER AS i
                    FROM (SELECT DISTINCT s FROM {records})),
        pat AS (SELECT row_number() OVER (ORDER BY {ks}) AS pid, {ks}
                FROM (SELECT DISTINCT {ks} FROM {records})),
        rows AS (SELECT r.person, yi.i, pat.pid AS pair
                 FROM {records} r JOIN yi ON yi.s = r.s
                 JOIN pat ON {same_keys(n_keys, "pat", "r")})
        SELECT rows.*, m.ymask
        FROM rows JOIN (SELECT person, sum(1::BIGINT << i) AS ymask FROM rows GROUP BY person) m
             ON m.person = rows.person"""
    )
    pivot = ", ".join(f"max(r.pair) FILTER (WHERE r.i = {i}) AS y{i}" for i in range(n_years))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out}_proj AS
        WITH ysets AS (SELECT DISTINCT ymask FROM {out}_rows)
        SELECT y.ymask AS target, r.person, any_value(r.ymask) AS own, {pivot}
        FROM {out}_rows r
        JOIN ysets y ON (r.ymask & y.ymask) = y.ymask AND ((y.ymask >> r.i) & 1) = 1
        GROUP BY y.ymask, r.person"""
    )
    same = " AND ".join(f"c.{y} IS NOT DISTINCT FROM p.{y}" for y in ycols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        WITH counts AS (SELECT target, {", ".join(ycols)}, count(*) AS matches,
                               count(*) FILTER (WHERE own = target) AS exact
                        FROM {out}_proj GROUP BY ALL)
        SELECT p.person, bit_count(p.own)::INTEGER AS years,
               c.exact AS trajectory_count, c.matches AS match_count
        FROM {out}_proj p JOIN counts c ON c.target = p.target AND {same}
        WHERE p.target = p.own"""
    )
    con.execute(f"DROP TABLE IF EXISTS {out}_rows")
    con.execute(f"DROP TABLE IF EXISTS {out}_proj")


def summary(con: duckdb.DuckDBPyConnection, panel: str, record_fk: str, ks: list[int]) -> dict:
    """The `longitudinal` object of risk.json. `record_fk` has one row per record with the
    person and its per-year fk."""
    viol = ", ".join(f"count(*) FILTER (WHERE p.match_count < {k})" for k in ks)
    row = con.execute(
        f"""WITH py AS (SELECT person, bool_or(fk = 1) AS some_year FROM {record_fk}
                        GROUP BY person)
            SELECT count(*), count(*) FILTER (WHERE p.match_count = 1),
                   count(*) FILTER (WHERE p.trajectory_count = 1),
                   count(*) FILTER (WHERE py.some_year),
                   count(*) FILTER (WHERE p.match_count = 1 AND NOT py.some_year),
                   {viol}
            FROM {panel} p JOIN py ON py.person = p.person"""
    ).fetchall()[0]
    years = con.execute(
        f"SELECT years, count(*) FROM {panel} GROUP BY years ORDER BY years"
    ).fetchall()
    persons, over, traj, some, only_panel = (int(v) for v in row[:5])
    return {
        "persons": persons,
        "persons_by_years_present": {str(y): int(c) for y, c in years},
        "unique_over_years": over,
        "unique_trajectory": traj,
        "unique_in_some_year": some,
        "unique_over_years_only": only_panel,
        "k_violations": {str(k): int(v) for k, v in zip(ks, row[5:], strict=True)},
    }
