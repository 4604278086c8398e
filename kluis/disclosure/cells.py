"""Per-cell statistics of a table, margins and hierarchy levels included, in one engine pass.

The primary rules need what a published number hides: distinct persons (a person with two jobs
counts once), each person's and each employer's share of the cell after summing per contributor,
and the extremes. DuckDB computes them for every cell of every margin with GROUPING SETS: first
per (cell, contributor), then per cell.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kluis.disclosure.linear import TableStructure
from kluis.disclosure.spec import SpecError, TableSpec, build_dimension


class DataError(ValueError):
    """Input data that does not fit the spec; the message names file, column, value and row."""


@dataclass
class CellTable:
    """A table's structure plus one row of statistics per cell (index = cell number)."""

    structure: TableStructure
    stats: pd.DataFrame
    spec: TableSpec

    @property
    def n_cells(self) -> int:
        return self.structure.n_cells


def _connect(source: Any, con: duckdb.DuckDBPyConnection) -> str:
    """Make the input visible as view `data`; returns a name for messages."""
    if isinstance(source, str | Path):
        p = Path(source)
        if not p.exists():
            raise DataError(f"{p}: no such file")
        suffix = p.suffix.lower()
        if suffix == ".parquet":
            con.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet('{_q(p)}')")
        elif suffix in (".csv", ".gz", ".txt"):
            con.execute(f"CREATE VIEW data AS SELECT * FROM read_csv('{_q(p)}', header=true)")
        else:
            raise DataError(f"{p}: expected a .csv or .parquet file")
        return str(p)
    if isinstance(source, duckdb.DuckDBPyRelation):
        source.create_view("data")
        return "relation"
    con.register("data_in", source)
    con.execute("CREATE VIEW data AS SELECT * FROM data_in")
    return "table"


def _q(p: Path) -> str:
    return str(p).replace("'", "''")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_columns(con: duckdb.DuckDBPyConnection, spec: TableSpec, where: str) -> None:
    have = {r[0] for r in con.execute("DESCRIBE data").fetchall()}
    need = [d.column for d in spec.dimensions]
    need += [
        c
        for c in (spec.person_id, spec.employer_id, spec.response, spec.weight, spec.count_column)
        if c
    ]
    missing = [c for c in need if c not in have]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; present: {sorted(have)}")


def structure_for(spec: TableSpec, con: duckdb.DuckDBPyConnection, where: str) -> TableStructure:
    """The table structure: codes from the spec/code list, else the values observed."""
    dims = []
    for d in spec.dimensions:
        observed = None
        if d.codes is None and d.codelist is None:
            col = _ident(d.column)
            observed = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM data WHERE {col} IS NOT NULL"
                ).fetchall()
            ]
        try:
            dims.append(build_dimension(d, observed))
        except (SpecError, KeyError) as e:
            raise SpecError(f"{where}: {e}") from None
    return TableStructure(tuple(dims))


def _register_maps(con: duckdb.DuckDBPyConnection, ts: TableStructure, where: str) -> None:
    """One table per dimension: leaf code -> node index at each level; unknown codes fail."""
    for k, d in enumerate(ts.dims):
        anc = d.leaf_ancestors()
        frame = pd.DataFrame({"code": list(d.codes)})
        for j in range(anc.shape[1]):
            frame[f"n{j}"] = anc[:, j]
        con.register(f"map{k}", frame)
        col = _ident(d.name)
        unknown = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT CAST({col} AS VARCHAR) AS v FROM data) "
            f"WHERE v IS NULL OR v NOT IN (SELECT code FROM map{k})"
        ).fetchall()[0][0]
        bad = []
        if unknown:  # find the first offending row only when there is one
            bad = con.execute(
                f"SELECT v, r FROM (SELECT CAST({col} AS VARCHAR) v, row_number() OVER () r "
                f"FROM data) WHERE v IS NULL OR v NOT IN (SELECT code FROM map{k}) "
                "ORDER BY r LIMIT 1"
            ).fetchall()
        if bad:
            v, r = bad[0]
            what = "is empty" if v is None else f"has value {v!r}, not among its codes"
            raise DataError(f"{where}: row {r}: column {d.name} {what}")


def _grouping_sets(ts: TableStructure, extra: str) -> tuple[str, str]:
    """GROUPING SETS clause over every level combination, and the cell-number expression."""
    shape = ts.shape
    per_dim, cell_terms = [], []
    for k, d in enumerate(ts.dims):
        n_levels = len(d.levels) + 1
        cols = [f"d{k}_{j}" for j in range(n_levels)]
        per_dim.append(cols + ([None] if d.total else []))
        stride = int(np.prod(shape[k + 1 :]))
        total_node = d.size - 1
        fallback = [str(total_node)] if d.total else []
        cell_terms.append(f"coalesce({', '.join(cols + fallback)}) * {stride}")
    sets = []
    for combo in itertools.product(*per_dim):
        cols = [c for c in combo if c is not None] + [extra]
        sets.append("(" + ", ".join(cols) + ")")
    return "GROUPING SETS (" + ", ".join(sets) + ")", " + ".join(cell_terms)


def compute_cells(source: Any, spec: TableSpec, threads: int | None = None) -> CellTable:
    """Statistics of every cell (all margins and hierarchy levels) of the table in `spec`."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads={int(threads)}")
    where = _connect(source, con)
    _check_columns(con, spec, where)
    ts = structure_for(spec, con, where)
    _register_maps(con, ts, where)

    joins, level_cols = [], []
    for k, d in enumerate(ts.dims):
        # translate the distinct values once, then join on the column's own type (no string
        # work per row)
        col = _ident(d.name)
        con.execute(
            f"CREATE TEMP TABLE dm{k} AS SELECT v, map{k}.* FROM (SELECT DISTINCT {col} AS v "
            f"FROM data) JOIN map{k} ON CAST(v AS VARCHAR) = map{k}.code"
        )
        joins.append(f"JOIN dm{k} ON data.{col} = dm{k}.v")
        level_cols += [f"dm{k}.n{j} AS d{k}_{j}" for j in range(len(d.levels) + 1)]
    w = f"CAST(data.{_ident(spec.weight)} AS DOUBLE)" if spec.weight else "1.0"
    x = f"CAST(data.{_ident(spec.response)} AS DOUBLE)" if spec.response else "0.0"
    if spec.count_column:
        pid = "row_number() OVER ()"
        n = f"CAST(data.{_ident(spec.count_column)} AS BIGINT)"
    else:
        pid = f"data.{_ident(spec.person_id)}"
        n = "1"
    emp = (
        f"coalesce('e' || CAST(data.{_ident(spec.employer_id)} AS VARCHAR), 'p' || "
        f"CAST({pid} AS VARCHAR))"
        if spec.employer_id and spec.magnitude
        else "NULL"
    )
    rk = "0.0"
    if spec.method == "cellkey" and not spec.count_column:
        seed = spec.cellkey.seed.replace("'", "''")
        rk = (
            f"CAST(('0x' || substr(md5('{seed}:' || CAST({pid} AS VARCHAR)), 1, 12)) AS UBIGINT)"
            " / 281474976710656.0"
        )
    con.execute(
        f"CREATE TEMP VIEW base AS SELECT {pid} AS pid, {emp} AS emp, {w} AS w, {x} AS x, "
        f"{rk} AS rk, "
        f"{n} AS n, {', '.join(level_cols)} FROM data {' '.join(joins)}"
    )
    if spec.response:
        nulls = con.execute("SELECT count(*) FROM base WHERE x IS NULL").fetchall()[0][0]
        if nulls:
            raise DataError(f"{where}: column {spec.response} has {nulls} empty value(s)")

    shape = ts.shape
    leaf_cell = " + ".join(f"d{k}_0 * {int(np.prod(shape[k + 1 :]))}" for k in range(len(ts.dims)))
    con.execute(
        f"CREATE TEMP TABLE pl AS SELECT {leaf_cell} AS cell, {', '.join(_level_names(ts))}, "
        "pid, sum(n) AS n, max(w) AS w, sum(w * x) AS s, max(rk) AS rk FROM base GROUP BY ALL"
    )
    if spec.statistic in ("count", "sum", "mean") and not spec.count_column:
        # persons in one leaf cell only: their margins follow from the leaves (no rescan);
        # the few in several leaf cells (two jobs) go through GROUPING SETS on their own
        con.execute(
            "CREATE TEMP TABLE multi AS SELECT pid FROM pl GROUP BY pid HAVING count(*) > 1"
        )
        leaf = con.execute(
            """SELECT cell, count(*) AS persons, sum(n) AS rows, sum(w) AS weighted,
                      sum(s) AS total, max(s, 2)[1] AS top1_p, coalesce(max(s, 2)[2], 0) AS top2_p,
                      min(s) AS vmin, max(s) AS vmax, sum(rk) AS cell_key
               FROM pl ANTI JOIN multi USING (pid) GROUP BY cell"""
        ).df()
        stats = _rollup(ts, leaf)
        if con.execute("SELECT count(*) FROM multi").fetchall()[0][0]:
            con.execute("CREATE TEMP TABLE plm AS SELECT * FROM pl SEMI JOIN multi USING (pid)")
            stats = _merge(stats, _grouped_stats(con, ts, spec, "plm", "s"))
    else:
        stats = _grouped_stats(con, ts, spec, "base", "w * x")
    if spec.weight is None:
        stats["weighted"] = stats["persons"].astype(float)
    if spec.employer_id and spec.magnitude:
        gs_e, cell_e = _grouping_sets(ts, "emp")
        con.execute(
            f"CREATE TEMP TABLE el AS SELECT {', '.join(_level_names(ts))}, emp, "
            "sum(w * x) AS s FROM base GROUP BY ALL"
        )
        emp_stats = con.execute(
            f"""
            WITH ec AS (SELECT {cell_e} AS cell, emp, sum(s) AS s FROM el GROUP BY {gs_e})
            SELECT cell, count(*) AS employers, max(s, 2)[1] AS top1_e, max(s, 2)[2] AS top2_e
            FROM ec GROUP BY cell
            """
        ).df()
        stats = stats.merge(emp_stats, on="cell", how="left")
    con.close()
    return CellTable(ts, _complete(stats, ts.n_cells), spec)


def _level_names(ts: TableStructure) -> list[str]:
    return [f"d{k}_{j}" for k, d in enumerate(ts.dims) for j in range(len(d.levels) + 1)]


def _grouped_stats(
    con: duckdb.DuckDBPyConnection, ts: TableStructure, spec: TableSpec, src: str, value: str
) -> pd.DataFrame:
    """Per-cell statistics with GROUPING SETS over (cell, person): exact in every case."""
    gs, cell = _grouping_sets(ts, "pid")
    k_ext = spec.rules.min_frequency
    q = spec.quantile
    person_count = "sum(n)" if spec.count_column else "count(*)"
    inner = f"""
        WITH pc AS (
          SELECT {cell} AS cell, pid, sum(n) AS n, max(w) AS w, sum({value}) AS s, max(rk) AS rk
          FROM {src} GROUP BY {gs}
        )
        SELECT cell, {person_count} AS persons, sum(n) AS rows, sum(w) AS weighted,
               sum(s) AS total, max(s, 2) AS top_p, min(s) AS vmin, max(s) AS vmax,
               min(s, {k_ext}) AS low_k, max(s, {k_ext}) AS high_k,
               quantile_cont(s, {q}) AS quant, sum(rk) % 1.0 AS cell_key
        FROM pc GROUP BY cell
        """
    return con.execute(
        f"""
        SELECT cell, persons, rows, weighted, total, vmin, vmax, quant, cell_key,
               top_p[1] AS top1_p, top_p[2] AS top2_p,
               len(list_filter(low_k, lambda z: z = low_k[1])) AS ext_min_ties,
               len(list_filter(high_k, lambda z: z = high_k[1])) AS ext_max_ties
        FROM ({inner})
        """
    ).df()


def _rollup(ts: TableStructure, leaf: pd.DataFrame) -> pd.DataFrame:
    """Margins and hierarchy levels from leaf statistics when each person has one leaf cell.

    Sums add up; a margin's largest contributor is the largest of its children's, and its second
    largest is the second of the children's two largest (a person contributes to one child only).
    """
    shape = ts.shape
    idx = leaf["cell"].to_numpy(dtype=np.int64)
    init = {
        "persons": 0.0,
        "rows": 0.0,
        "weighted": 0.0,
        "total": 0.0,
        "cell_key": 0.0,
        "top1_p": 0.0,
        "top2_p": 0.0,
        "vmin": np.inf,
        "vmax": -np.inf,
    }
    arrs = {}
    for c, v0 in init.items():
        a = np.full(ts.n_cells, v0)
        a[idx] = leaf[c].to_numpy(dtype=float, na_value=v0)
        arrs[c] = a.reshape(shape)
    for k, d in enumerate(ts.dims):
        par = d.parent
        for node in range(d.size):
            kids = np.flatnonzero(par == node)
            if kids.size == 0:
                continue
            sl = [slice(None)] * len(shape)
            sl[k] = node
            sl = tuple(sl)
            for c in ("persons", "rows", "weighted", "total", "cell_key"):
                arrs[c][sl] = np.take(arrs[c], kids, axis=k).sum(axis=k)
            arrs["vmin"][sl] = np.take(arrs["vmin"], kids, axis=k).min(axis=k)
            arrs["vmax"][sl] = np.take(arrs["vmax"], kids, axis=k).max(axis=k)
            both = np.concatenate(
                [np.take(arrs["top1_p"], kids, axis=k), np.take(arrs["top2_p"], kids, axis=k)],
                axis=k,
            )
            both = np.sort(both, axis=k)
            arrs["top1_p"][sl] = np.take(both, -1, axis=k)
            arrs["top2_p"][sl] = np.take(both, -2, axis=k)
    out = pd.DataFrame({c: a.ravel() for c, a in arrs.items()})
    out["cell_key"] = out["cell_key"] % 1.0
    out["vmin"] = out["vmin"].where(np.isfinite(out["vmin"]))
    out["vmax"] = out["vmax"].where(np.isfinite(out["vmax"]))
    out["quant"] = np.nan
    out["ext_min_ties"] = 0.0
    out["ext_max_ties"] = 0.0
    out.insert(0, "cell", np.arange(ts.n_cells))
    return out[out["persons"] > 0]


def _merge(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Statistics of two disjoint sets of persons, per cell."""
    m = a.merge(b, on="cell", how="outer", suffixes=("", "_b"))
    for c in ("persons", "rows", "weighted", "total", "cell_key"):
        m[c] = m[c].fillna(0) + m[c + "_b"].fillna(0)
    m["cell_key"] = m["cell_key"] % 1.0
    m["vmin"] = np.fmin(m["vmin"], m["vmin_b"])
    m["vmax"] = np.fmax(m["vmax"], m["vmax_b"])
    tops = np.sort(
        m[["top1_p", "top2_p", "top1_p_b", "top2_p_b"]].fillna(0.0).to_numpy(dtype=float), axis=1
    )
    m["top1_p"], m["top2_p"] = tops[:, -1], tops[:, -2]
    return m[[c for c in a.columns]]


def _complete(stats: pd.DataFrame, n_cells: int) -> pd.DataFrame:
    """One row per cell (empty cells included), with the top-2 lists split into columns."""
    out = pd.DataFrame(index=pd.RangeIndex(n_cells, name="cell"))
    stats = stats.set_index("cell").reindex(out.index)
    zero_fill = ["persons", "rows", "weighted", "total", "top1_p", "top2_p"]
    zero_fill += ["ext_min_ties", "ext_max_ties", "employers", "top1_e", "top2_e"]
    for c in stats.columns:
        v = stats[c].to_numpy(dtype=float, na_value=np.nan)
        out[c] = np.nan_to_num(v, nan=0.0) if c in zero_fill else v
    return out


def members(source: Any, spec: TableSpec) -> pd.DataFrame:
    """Distinct (person, leaf codes) of the table's population, for differencing checks."""
    if spec.person_id is None:
        raise SpecError("differencing checks need microdata with a person_id column")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    where = _connect(source, con)
    _check_columns(con, spec, where)
    cols = ", ".join(
        f"CAST({_ident(d.column)} AS VARCHAR) AS {_ident(d.column)}" for d in spec.dimensions
    )
    out = con.execute(
        f"SELECT DISTINCT CAST({_ident(spec.person_id)} AS VARCHAR) AS person, {cols} FROM data "
        f"ORDER BY ALL"
    ).df()
    con.close()
    return out
