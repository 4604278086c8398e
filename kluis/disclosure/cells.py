"""Per-cell statistics of a table, margins and hierarchy levels included, in one engine pass.

The primary rules need what a published number hides: distinct persons (a person with two jobs
counts once), each person's and each employer's share of the cell after summing per contributor,
and the extremes. DuckDB gives every record its leaf cell; count, sum and mean tables are then
binned in numpy (person_stats.py); order statistics and aggregated input use GROUPING SETS over
(cell, contributor). The input itself is read and checked in source.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from kluis.disclosure.linear import TableStructure
from kluis.disclosure.person_stats import complete, dense_ids, person_stats
from kluis.disclosure.source import DataError, check_columns, check_counts, connect
from kluis.disclosure.source import ident as _ident
from kluis.disclosure.spec import SpecError, TableSpec, build_dimension

#: the largest table (cells, margins included) kluis protects: its statistics, relations and
#: suppression model are held in memory, so a bigger one is refused before anything is allocated
MAX_CELLS = 1_000_000

__all__ = ["MAX_CELLS", "CellTable", "DataError", "Units", "compute_cells", "structure_for"]


@dataclass
class Units:
    """Who is in which leaf cell, per record of the input (kept for the release history):
    the person id as given, the leaf cell, and the record's value and weight when there are."""

    pid: np.ndarray
    cell: np.ndarray
    s: np.ndarray | None = None
    w: np.ndarray | None = None


@dataclass
class CellTable:
    """A table's structure plus one row of statistics per cell (index = cell number)."""

    structure: TableStructure
    stats: pd.DataFrame
    spec: TableSpec
    units: Units | None = None  # None for aggregated input (no persons)

    @property
    def n_cells(self) -> int:
        return self.structure.n_cells


def _scan(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[str, int]:
    """One pass over the data: distinct values of every dimension (kept as tables dv0, dv1, ..),
    the number of rows and of empty values per dimension and in the response column."""
    parts, names = ["count(*) AS n_rows"], ["n_rows"]
    for k, d in enumerate(spec.dimensions):
        col = _ident(d.column)
        parts += [f"list(DISTINCT {col}) AS l{k}", f"count(*) - count({col}) AS e{k}"]
        names.append(f"e{k}")
    if spec.response:
        parts.append(f"count(*) - count({_ident(spec.response)}) AS ex")
        names.append("ex")
    con.execute(f"CREATE TEMP TABLE dv AS SELECT {', '.join(parts)} FROM data")
    for k in range(len(spec.dimensions)):
        con.execute(f"CREATE TEMP TABLE dv{k} AS SELECT unnest(l{k}) AS v FROM dv")
    row = con.execute(f"SELECT {', '.join(names)} FROM dv").fetchall()[0]
    return dict(zip(names, (int(x) for x in row), strict=True))


def structure_for(spec: TableSpec, con: duckdb.DuckDBPyConnection, where: str) -> TableStructure:
    """The table structure: codes from the spec/code list, else the values observed (the
    distinct values of each dimension are in table dv{k}, see _scan). A table larger than
    MAX_CELLS is refused here, before its statistics are allocated."""
    dims = []
    for k, d in enumerate(spec.dimensions):
        observed = None
        if d.codes is None and d.codelist is None:
            observed = [
                r[0] for r in con.execute(f"SELECT CAST(v AS VARCHAR) FROM dv{k}").fetchall()
            ]
        try:
            dims.append(build_dimension(d, observed))
        except (SpecError, KeyError) as e:
            raise SpecError(f"{where}: {e}") from None
    sizes = [d.size for d in dims]
    n_cells = int(np.prod(np.array(sizes, dtype=float)))
    if n_cells > MAX_CELLS:
        shape = " x ".join(f"{d.name} {d.size}" for d in dims)
        raise DataError(
            f"{where}: the table would have {n_cells:,} cells ({shape}, margins included); "
            f"kluis protects at most {MAX_CELLS:,} cells in memory: coarsen or drop a dimension"
        )
    return TableStructure(tuple(dims))


def _register_maps(
    con: duckdb.DuckDBPyConnection, ts: TableStructure, where: str, empty: dict[str, int]
) -> None:
    """One table per dimension: leaf code -> node index at each level; unknown codes fail."""
    for k, d in enumerate(ts.dims):
        anc = d.leaf_ancestors()
        frame = pd.DataFrame({"code": list(d.codes)})
        for j in range(anc.shape[1]):
            frame[f"n{j}"] = anc[:, j]
        con.register(f"map{k}", frame)
        col = _ident(d.name)
        unknown = (
            empty[f"e{k}"]
            or con.execute(
                f"SELECT count(*) FROM dv{k} "
                f"WHERE CAST(v AS VARCHAR) NOT IN (SELECT code FROM map{k})"
            ).fetchall()[0][0]
        )
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
    where = connect(source, con)
    try:
        return _compute(con, spec, where)
    except duckdb.Error as e:  # anything the checks above did not foresee, still located
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{where}: cannot be read as the spec describes: {first}") from None
    finally:
        con.close()


def _compute(con: duckdb.DuckDBPyConnection, spec: TableSpec, where: str) -> CellTable:
    check_columns(con, spec, where)
    empty = _scan(con, spec)
    if empty["n_rows"] == 0:
        raise DataError(f"{where}: the table has no rows (a header only): nothing to protect")
    check_counts(con, spec, where)
    ts = structure_for(spec, con, where)
    _register_maps(con, ts, where, empty)
    if spec.response and empty["ex"]:
        raise DataError(f"{where}: column {spec.response} has {empty['ex']} empty value(s)")

    shape = ts.shape
    joins, level_cols, cell_terms = [], [], []
    for k, d in enumerate(ts.dims):
        # translate the distinct values once, then join on the column's own type (no string
        # work per row)
        col = _ident(d.name)
        con.execute(
            f"CREATE TEMP TABLE dm{k} AS SELECT v, map{k}.* FROM dv{k} "
            f"JOIN map{k} ON CAST(v AS VARCHAR) = map{k}.code"
        )
        joins.append(f"JOIN dm{k} ON data.{col} = dm{k}.v")
        level_cols += [f"dm{k}.n{j} AS d{k}_{j}" for j in range(len(d.levels) + 1)]
        cell_terms.append(f"dm{k}.n0 * {int(np.prod(shape[k + 1 :]))}")
    w = f"CAST(data.{_ident(spec.weight)} AS DOUBLE)" if spec.weight else "1.0"
    x = f"CAST(data.{_ident(spec.response)} AS DOUBLE)" if spec.response else "0.0"
    if spec.count_column:
        pid = "row_number() OVER ()"
        n = f"CAST(data.{_ident(spec.count_column)} AS BIGINT)"
    else:
        pid = f"data.{_ident(spec.person_id)}"
        n = "1"
    if spec.employer_id and spec.magnitude:
        # contributor for employer dominance: the employer, or the person when it has none
        e_col = f"data.{_ident(spec.employer_id)}"
        emp = f"{e_col} AS emp, CASE WHEN {e_col} IS NULL THEN {pid} END AS emp_p"
    else:
        emp = "NULL AS emp, NULL AS emp_p"
    rk = "0.0"
    if spec.method == "cellkey" and not spec.count_column:
        seed = spec.cellkey.seed.replace("'", "''")
        rk = (
            f"CAST(('0x' || substr(md5('{seed}:' || CAST({pid} AS VARCHAR)), 1, 12)) AS UBIGINT)"
            " / 281474976710656.0"
        )
    con.execute(
        f"CREATE TEMP VIEW base AS SELECT {pid} AS pid, {emp}, {w} AS w, {x} AS x, "
        f"{rk} AS rk, {n} AS n, {' + '.join(cell_terms)} AS cell, {', '.join(level_cols)} "
        f"FROM data {' '.join(joins)}"
    )
    _leaf_levels(con, ts)
    units, rk = (None, None) if spec.count_column else _units(con, spec, where)
    if spec.statistic in ("count", "sum", "mean") and units is not None:
        extra = {"s": units.s, "w": units.w, "rk": rk}
        extra = {k: v for k, v in extra.items() if v is not None}
        pid = dense_ids(units.pid, where, spec.person_id)
        stats = person_stats(ts, units.cell, pid, extra)
    else:
        stats = _grouped_stats(con, ts, spec, "base", "w * x")
    if spec.weight is None:
        stats["weighted"] = stats["persons"].astype(float)
    if spec.employer_id and spec.magnitude:
        gs_e, cell_e = _grouping_sets(ts, "emp, emp_p")
        # per (leaf cell, employer) first: employers span cells, so margins need their own sums
        con.execute(
            "CREATE TEMP TABLE el AS SELECT cell, emp, emp_p, sum(w * x) AS s FROM base "
            "GROUP BY ALL"
        )
        emp_stats = con.execute(
            f"""
            WITH e2 AS (SELECT lm.* EXCLUDE (cell), el.emp, el.emp_p, el.s
                        FROM el JOIN lm USING (cell)),
                 ec AS (SELECT {cell_e} AS cell, sum(s) AS s FROM e2 GROUP BY {gs_e})
            SELECT cell, count(*) AS employers, max(s, 2)[1] AS top1_e, max(s, 2)[2] AS top2_e
            FROM ec GROUP BY cell
            """
        ).df()
        stats = stats.merge(emp_stats, on="cell", how="left")
    return CellTable(ts, complete(stats, ts.n_cells), spec, units)


def _units(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, where: str
) -> tuple[Units, np.ndarray | None]:
    """Leaf cell, person, value and weight of every record (and its cell-key number), fetched
    in one query as numpy arrays."""
    cols = ["CAST(cell AS INTEGER) AS cell", "pid"]
    if spec.response:
        cols.append("w * x AS s")
    if spec.weight:
        cols.append("w")
    if spec.method == "cellkey":
        cols.append("rk")
    got = con.execute(f"SELECT {', '.join(cols)} FROM base").fetchnumpy()
    pid = got["pid"]
    if np.ma.isMaskedArray(pid) and np.ma.getmaskarray(pid).any():
        n = int(np.ma.getmaskarray(pid).sum())
        raise DataError(f"{where}: column {spec.person_id} has {n} empty value(s)")
    units = Units(
        pid=np.asarray(pid),
        cell=np.asarray(got["cell"]).astype(np.int64),
        s=np.asarray(got["s"], dtype=float) if "s" in got else None,
        w=np.asarray(got["w"], dtype=float) if "w" in got else None,
    )
    return units, (np.asarray(got["rk"], dtype=float) if "rk" in got else None)


def _leaf_levels(con: duckdb.DuckDBPyConnection, ts: TableStructure) -> None:
    """Table lm: every leaf cell with its node at each level of every dimension (d{k}_{j})."""
    leaf_nodes = [np.arange(len(d.codes)) for d in ts.dims]
    frame = pd.DataFrame({"cell": ts.sub_index(leaf_nodes)})
    grids = np.meshgrid(*leaf_nodes, indexing="ij")
    for k, d in enumerate(ts.dims):
        anc = d.leaf_ancestors()
        for j in range(anc.shape[1]):
            frame[f"d{k}_{j}"] = anc[grids[k].ravel(), j]
    con.register("lm", frame)


def _grouped_stats(
    con: duckdb.DuckDBPyConnection,
    ts: TableStructure,
    spec: TableSpec,
    src: str,
    value: str,
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
