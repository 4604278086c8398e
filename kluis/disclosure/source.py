"""The input of a table to protect: a CSV or Parquet file, a DuckDB relation or a DataFrame,
made visible to DuckDB as the view `data` and checked before any cell is computed.

Everything a user can get wrong in the input is reported here as one `DataError` naming the
file, the row and the column (an unreadable file, a missing column, a text where a number must
be, a negative or fractional count, no rows at all), so the engine below never meets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from kluis.disclosure.spec import TableSpec
from kluis.errors import BadInput


class DataError(BadInput, ValueError):
    """Input data that does not fit the spec; the message names file, column, value and row."""


def quote_path(p: Path) -> str:
    return str(p).replace("'", "''")


def ident(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def connect(source: Any, con: duckdb.DuckDBPyConnection) -> str:
    """Make the input visible as view `data`; returns a name for messages."""
    if isinstance(source, str | Path):
        p = Path(source)
        if not p.exists():
            raise DataError(f"{p}: no such file")
        if p.is_dir():
            raise DataError(f"{p}: is a directory, expected a .csv or .parquet file")
        suffix = p.suffix.lower()
        if suffix == ".parquet":
            sql = f"CREATE VIEW data AS SELECT * FROM read_parquet('{quote_path(p)}')"
            what = "a readable Parquet file"
        elif suffix in (".csv", ".gz", ".txt"):
            sql = f"CREATE VIEW data AS SELECT * FROM read_csv('{quote_path(p)}', header=true)"
            what = "a readable CSV file"
        else:
            raise DataError(f"{p}: expected a .csv or .parquet file")
        try:
            con.execute(sql)
            con.execute("DESCRIBE data").fetchall()
        except duckdb.Error as e:
            raise DataError(f"{p}: not {what}: {_first_line(e)}") from None
        return str(p)
    if isinstance(source, duckdb.DuckDBPyRelation):
        source.create_view("data")
        return "relation"
    con.register("data_in", source)
    con.execute("CREATE VIEW data AS SELECT * FROM data_in")
    return "table"


def column_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {r[0]: str(r[1]) for r in con.execute("DESCRIBE data").fetchall()}


def check_columns(con: duckdb.DuckDBPyConnection, spec: TableSpec, where: str) -> None:
    """Every column the spec names is present, and the numeric ones hold numbers."""
    have = column_types(con)
    need = [d.column for d in spec.dimensions]
    numeric = [c for c in (spec.response, spec.weight, spec.count_column) if c]
    need += [c for c in (spec.person_id, spec.employer_id) if c] + numeric
    missing = [c for c in need if c not in have]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; present: {sorted(have)}")
    for c in numeric:
        if not _is_numeric(have[c]):
            _first_bad(
                con,
                where,
                c,
                f"TRY_CAST({ident(c)} AS DOUBLE) IS NULL AND {ident(c)} IS NOT NULL",
                "is not a number",
            )


def _is_numeric(sql_type: str) -> bool:
    t = sql_type.upper()
    return any(
        t.startswith(k)
        for k in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
    ) or any(t.startswith(k) for k in ("UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"))


def _first_bad(
    con: duckdb.DuckDBPyConnection, where: str, column: str, condition: str, what: str
) -> None:
    """Raise DataError naming the first row (1-based, header not counted) meeting `condition`."""
    got = con.execute(
        f"SELECT v, r FROM (SELECT {ident(column)} AS v, {condition} AS bad, "
        "row_number() OVER () AS r FROM data) WHERE bad ORDER BY r LIMIT 1"
    ).fetchall()
    if got:
        v, r = got[0]
        if v is None:
            raise DataError(f"{where}: row {r}: column {column} is empty")
        raise DataError(f"{where}: row {r}: column {column} has value {v!r}, which {what}")


def check_counts(con: duckdb.DuckDBPyConnection, spec: TableSpec, where: str) -> None:
    """Aggregated input: every count is a whole number of persons, never negative."""
    c = spec.count_column
    if c is None:
        return
    x = f"CAST({ident(c)} AS DOUBLE)"
    bad = con.execute(
        f"SELECT count(*) FILTER ({ident(c)} IS NULL), count(*) FILTER ({x} < 0), "
        f"count(*) FILTER ({x} <> floor({x})) FROM data"
    ).fetchall()[0]
    if bad[0]:
        _first_bad(con, where, c, f"{ident(c)} IS NULL", "is empty (a count is needed)")
    if bad[1]:
        _first_bad(con, where, c, f"{x} < 0", "is negative (a count of persons)")
    if bad[2]:
        _first_bad(con, where, c, f"{x} <> floor({x})", "is not a whole number of persons")
