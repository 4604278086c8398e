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
from kluis.errors import BadInput


class DataError(BadInput, ValueError):
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


def _scan(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[str, int]:
    """One pass over the data: distinct values of every dimension (kept as tables dv0, dv1, ..)
    and the number of empty values per dimension and in the response column."""
    parts, names = [], []
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
    distinct values of each dimension are in table dv{k}, see _scan)."""
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
    where = _connect(source, con)
    _check_columns(con, spec, where)
    empty = _scan(con, spec)
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
    if spec.statistic in ("count", "sum", "mean") and not spec.count_column:
        stats = _person_stats(con, ts, spec, where)
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
    con.close()
    return CellTable(ts, _complete(stats, ts.n_cells), spec)


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


def _person_stats(
    con: duckdb.DuckDBPyConnection, ts: TableStructure, spec: TableSpec, where: str
) -> pd.DataFrame:
    """Count/sum/mean statistics of every cell from one pass over the microdata.

    Most persons have one record, or all their records in one leaf cell: their contributions to
    a margin are their contributions to its leaves, so margins follow from leaf sums (_rollup).
    Only the persons found in several leaf cells (two jobs in different cells) are aggregated per
    (margin cell, person) for every combination of levels (_margin_stats), where a person counts
    once and their values add up. All of it is vectorised numpy on the fetched columns.
    """
    cols = ["CAST(cell AS INTEGER) AS cell", "pid"]
    if spec.response:
        cols.append("w * x AS s")
    if spec.weight:
        cols.append("w")
    if spec.method == "cellkey":
        cols.append("rk")
    got = con.execute(f"SELECT {', '.join(cols)} FROM base").fetchnumpy()
    cell = np.asarray(got["cell"]).astype(np.int64)
    pid = _dense_ids(got["pid"], where, spec.person_id)
    extra = {k: np.asarray(got[k], dtype=float) for k in ("s", "w", "rk") if k in got}
    several = _several(pid)
    n_cells = ts.n_cells
    # everybody with one record: binned as they are (the others go to a spare bin, n_cells)
    leaf = _leaf_arrays(n_cells, np.where(several, n_cells, cell), None, extra)
    if several.any():
        # (person, leaf cell) pairs of persons with several records: their records summed
        idx = np.flatnonzero(several)
        order = idx[np.lexsort((cell[idx], pid[idx]))]
        p_s, c_s = pid[order], cell[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (p_s[1:] != p_s[:-1]) | (c_s[1:] != c_s[:-1])
        start = np.flatnonzero(new)
        pairs = {
            "pid": p_s[start],
            "cell": c_s[start],
            "n": np.diff(np.append(start, order.size)).astype(float),
        }
        for k, v in extra.items():
            pairs[k] = (np.add if k == "s" else np.maximum).reduceat(v[order], start)
        # a person whose pairs span several leaf cells goes through _margin_stats
        spread = np.zeros(start.size, dtype=bool)
        same = pairs["pid"][1:] == pairs["pid"][:-1]
        spread[1:] |= same
        spread[:-1] |= same
        keep = {k: v[~spread] for k, v in pairs.items()}
        more = _leaf_arrays(
            n_cells, keep["cell"], keep["n"], {k: keep[k] for k in extra if k in keep}
        )
        leaf = _combine(leaf, more)
    stats = _rollup(ts, _leaf_frame(leaf, n_cells))
    if several.any() and spread.any():
        sel = {k: v[spread] for k, v in pairs.items()}
        stats = _merge(stats, _margin_stats(ts, sel))
    return stats


def _several(pid: np.ndarray) -> np.ndarray:
    """Per record: does its person have other records too?"""
    if pid.size == 0:
        return np.zeros(0, dtype=bool)
    lo, hi = int(pid.min()), int(pid.max())
    if hi - lo <= 4 * pid.size + 1024:  # dense ids: count them directly
        counts = np.bincount(pid - lo)
        return counts[pid - lo] > 1
    srt = np.sort(pid)
    dup = srt[1:][srt[1:] == srt[:-1]]
    if dup.size == 0:
        return np.zeros(pid.size, dtype=bool)
    dup = dup[np.concatenate(([True], dup[1:] != dup[:-1]))]
    pos = np.minimum(np.searchsorted(dup, pid), dup.size - 1)
    return dup[pos] == pid


def _margin_stats(ts: TableStructure, pairs: dict[str, np.ndarray]) -> pd.DataFrame:
    """Statistics of every cell (margins included) over persons given per (person, leaf cell),
    sorted by person.

    For each combination of levels (the GROUPING SETS of the table) the leaf cells map to the
    cells of that combination; a person's pairs that land in the same cell are summed first, so
    a person counts once per cell and their values add up (what the dominance rules need).
    """
    pid, cell = pairs["pid"], pairs["cell"]
    extra = {k: v for k, v in pairs.items() if k in ("s", "w", "rk")}
    coords = ts.coords()[cell]
    strides = [int(np.prod(ts.shape[k + 1 :])) for k in range(len(ts.dims))]
    per_dim = []
    for k, d in enumerate(ts.dims):
        anc = d.leaf_ancestors()  # leaf -> node at each level, the total last when present
        per_dim.append([anc[coords[:, k], j] * strides[k] for j in range(anc.shape[1])])
    # person rank (pairs come sorted by person): small keys, so (person, cell) fits one int64
    rank = np.cumsum(np.concatenate(([0], (pid[1:] != pid[:-1]).astype(np.int64))))
    total = None
    for combo in itertools.product(*per_dim):
        gc = np.sum(combo, axis=0)
        # already sorted by person; a stable sort only reorders within each person
        order = np.argsort(rank * ts.n_cells + gc, kind="stable")
        r_o, g_o = rank[order], gc[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (r_o[1:] != r_o[:-1]) | (g_o[1:] != g_o[:-1])
        start = np.flatnonzero(new)
        part = _leaf_arrays(
            ts.n_cells,
            g_o[start],
            np.add.reduceat(pairs["n"][order], start),
            {
                k: (np.add if k == "s" else np.maximum).reduceat(v[order], start)
                for k, v in extra.items()
            },
        )
        # each cell belongs to exactly one combination of levels: the parts do not overlap
        total = part if total is None else _combine(total, part)
    return _leaf_frame(total, ts.n_cells)


def _dense_ids(pid: np.ndarray, where: str, column: str | None) -> np.ndarray:
    """Person ids as int64 (equal ids stay equal, different ids stay different)."""
    if np.ma.isMaskedArray(pid) and np.ma.getmaskarray(pid).any():
        n = int(np.ma.getmaskarray(pid).sum())
        raise DataError(f"{where}: column {column} has {n} empty value(s)")
    pid = np.asarray(pid)
    if pid.dtype.kind == "i" or (pid.dtype.kind == "u" and (pid.size == 0 or pid.max() < 2**63)):
        return pid.astype(np.int64, copy=False)
    return pd.factorize(pid)[0].astype(np.int64)


def _leaf_arrays(
    n_cells: int, cell: np.ndarray, n: np.ndarray | None, extra: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per cell: statistics over contributors that each sit in that one cell only.

    `cell` may hold n_cells (a spare bin, ignored); `n` records per contributor (None: one);
    `extra` the contributor's value `s`, weight `w` and cell-key number `rk` when there are any.
    """
    m = n_cells + 1
    persons = np.bincount(cell, minlength=m)[:n_cells].astype(float)
    out = {
        "persons": persons,
        "rows": persons if n is None else np.bincount(cell, weights=n, minlength=m)[:n_cells],
        "weighted": persons,
        "total": np.zeros(n_cells),
        "cell_key": np.zeros(n_cells),
    }
    if "w" in extra:
        out["weighted"] = np.bincount(cell, weights=extra["w"], minlength=m)[:n_cells]
    if "rk" in extra:
        out["cell_key"] = np.bincount(cell, weights=extra["rk"], minlength=m)[:n_cells]
    if "s" not in extra:  # no response: every contributor's value is 0
        zero = np.where(persons > 0, 0.0, np.nan)
        out.update(vmin=zero, vmax=zero.copy(), top1_p=np.zeros(n_cells), top2_p=np.zeros(n_cells))
        return out
    s = extra["s"]
    out["total"] = np.bincount(cell, weights=s, minlength=m)[:n_cells]
    vmin = np.full(m, np.inf)
    np.minimum.at(vmin, cell, s)
    vmax = np.full(m, -np.inf)
    np.maximum.at(vmax, cell, s)
    # second largest: drop one occurrence of each cell's largest value, take the largest again
    at_max = np.flatnonzero(s == vmax[cell])
    first = np.full(m, cell.size)
    np.minimum.at(first, cell[at_max], at_max)
    rest = s.copy()
    rest[first[first < cell.size]] = -np.inf
    top2 = np.full(m, -np.inf)
    np.maximum.at(top2, cell, rest)
    vmin, vmax, top2 = vmin[:n_cells], vmax[:n_cells], top2[:n_cells]
    out["top1_p"] = np.where(persons > 0, vmax, 0.0)
    out["top2_p"] = np.where(persons > 1, top2, 0.0)
    out["vmin"] = np.where(persons > 0, vmin, np.nan)
    out["vmax"] = np.where(persons > 0, vmax, np.nan)
    return out


def _combine(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Statistics of two disjoint sets of contributors, per cell."""
    out = {c: a[c] + b[c] for c in ("persons", "rows", "weighted", "total", "cell_key")}
    out["vmin"] = np.fmin(a["vmin"], b["vmin"])
    out["vmax"] = np.fmax(a["vmax"], b["vmax"])
    tops = np.sort(np.stack([a["top1_p"], a["top2_p"], b["top1_p"], b["top2_p"]]), axis=0)
    out["top1_p"], out["top2_p"] = tops[-1], tops[-2]
    return out


def _leaf_frame(arrs: dict[str, np.ndarray], n_cells: int) -> pd.DataFrame:
    cols = ["persons", "rows", "weighted", "total", "top1_p", "top2_p", "vmin", "vmax"]
    frame = pd.DataFrame({"cell": np.arange(n_cells), **{c: arrs[c] for c in cols}})
    frame["cell_key"] = arrs["cell_key"]
    return frame[arrs["persons"] > 0]


def _level_names(ts: TableStructure) -> list[str]:
    return [f"d{k}_{j}" for k, d in enumerate(ts.dims) for j in range(len(d.levels) + 1)]


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
