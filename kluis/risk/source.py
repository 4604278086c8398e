"""Open the table under study (an extract table, a CSV or a Parquet file) in DuckDB and build
the positional relation the risk engine works on.

An extract table is a directory of year partitions (`table/year=YYYY/part-0.parquet`, the year
also a column of the files). A CSV file is read with a header; only empty fields are missing
values (a code such as 'NA' stays a code). Every problem is a BadInput naming the file and the
column, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from kluis.errors import BadInput
from kluis.risk.sql import MAX_KEYS, ident, literal

_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
_INTEGER = _NUMERIC[:9]


class TableError(BadInput):
    """The table under study cannot be read or lacks what was asked of it."""


@dataclass(frozen=True)
class Study:
    """What is measured: the key variables (quasi-identifiers) and the optional roles of other
    columns. Names are the table's column names."""

    keys: tuple[str, ...]
    k: int = 3
    weight: str | None = None
    household: str | None = None
    sensitive: str | None = None
    person: str | None = None
    year: str | None = None
    l_recursive_c: float = 2.0

    def columns(self) -> dict[str, str]:
        """role -> column for every column the study uses."""
        roles = {f"key {k}": k for k in self.keys}
        for role in ("weight", "household", "sensitive", "person", "year"):
            col = getattr(self, role)
            if col is not None:
                roles[role] = col
        return roles


def reader(path: Path) -> str:
    """A DuckDB table function reading `path` (file order kept)."""
    path = Path(path)
    if path.is_dir():
        parts = sorted(path.glob("year=*/*.parquet")) or sorted(path.glob("*.parquet"))
        if not parts:
            raise TableError(f"{path}: a directory with no Parquet files (year=*/*.parquet)")
        files = "[" + ", ".join(literal(str(p)) for p in parts) + "]"
        return f"read_parquet({files}, hive_partitioning = false)"
    if not path.is_file():
        raise TableError(f"{path}: no such file or directory")
    if path.stat().st_size == 0:
        raise TableError(f"{path}: an empty file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({literal(str(path))})"
    if suffix in (".csv", ".txt"):
        return f"read_csv({literal(str(path))}, header = true, nullstr = '', sample_size = -1)"
    raise TableError(f"{path}: not a CSV or Parquet file, nor an extract table directory")


def open_table(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> dict[str, str]:
    """A view `name` over the table; returns column -> DuckDB type."""
    source = reader(path)
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {source}")
        described = con.execute(f"DESCRIBE {name}").fetchall()
        # a CSV whose rows do not all have the header's fields: DuckDB's sniffer then reads
        # one column named after the whole header; read it again with the delimiter the
        # header shows, so the real problem (the line) is reported
        header = described[0][0] if len(described) == 1 else ""
        delim = next((d for d in (",", ";", "\t", "|") if d in header), None)
        if source.startswith("read_csv") and delim:
            _ragged_line(con, path, delim)
    except duckdb.Error as e:
        raise TableError(f"{path}: cannot be read: {_first_line(e)}") from None
    return {row[0]: str(row[1]) for row in described}


def _ragged_line(con: duckdb.DuckDBPyConnection, path: Path, delim: str) -> None:
    """Refuse, naming it, the first line whose number of fields differs from the header's
    (quotes are not interpreted: a single column named 'a,b' with no such line is kept)."""
    rows = con.execute(
        f"""WITH lines AS (
               SELECT row_number() OVER () AS no, line FROM read_csv({literal(str(path))},
                   columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x01',
                   quote = '', escape = '', auto_detect = false)),
             counted AS (SELECT no, length(line) - length(replace(line, {literal(delim)}, ''))
                                AS seps FROM lines)
        SELECT c.no, c.seps + 1, h.seps + 1 FROM counted c, (SELECT seps FROM counted
               WHERE no = 1) h
        WHERE c.seps <> h.seps ORDER BY c.no LIMIT 1"""
    ).fetchall()
    if rows:
        no, got, want = rows[0]
        raise TableError(
            f"{path}: line {no} has {got} field(s), the header {want} ({delim!r}-separated)"
        )


def _first_line(e: Exception) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


def _base(t: str) -> str:
    return t.split("(")[0].strip().upper()


def check_study(path: Path, types: dict[str, str], study: Study, *, population: bool) -> None:
    """Every column the study names exists with a usable type; the options fit together."""
    if not study.keys:
        raise TableError("no key variables: give --keys or a deliberation with risk.keys")
    if len(study.keys) > MAX_KEYS:
        raise TableError(f"{len(study.keys)} key variables: at most {MAX_KEYS} are supported")
    if len(set(study.keys)) != len(study.keys):
        raise TableError(f"a key variable is named twice: {', '.join(study.keys)}")
    if study.k < 2:
        raise TableError(f"k = {study.k}: k-anonymity needs k >= 2")
    if (study.person is None) != (study.year is None) and study.person is not None:
        raise TableError("--person needs --year (the panel's time column)")
    if population and study.weight is not None:
        raise TableError("give either --weight or --population, not both")
    used = study.columns()
    for role, col in used.items():
        if col not in types:
            raise TableError(f"{path}: no column {col!r} ({role}); columns: {', '.join(types)}")
        if types[col].endswith("]") or _base(types[col]) in ("STRUCT", "MAP", "LIST", "UNION"):
            raise TableError(f"{path}: column {col!r} ({role}) is {types[col]}, not a value")
    roles = [c for r, c in used.items() if not r.startswith("key ")]
    clash = set(study.keys) & set(roles)
    if clash or len(set(roles)) != len(roles):
        raise TableError(f"a column has two roles: {', '.join(sorted(clash) or roles)}")
    if study.weight is not None and _base(types[study.weight]) not in _NUMERIC:
        raise TableError(f"{path}: weight column {study.weight!r} is {types[study.weight]}")
    if study.year is not None and _base(types[study.year]) not in _INTEGER:
        raise TableError(f"{path}: year column {study.year!r} is {types[study.year]}")


def build_records(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    view: str,
    study: Study,
    out: str,
    *,
    materialize: bool = True,
) -> None:
    """`out` (s, k0.., n, w [, hid, sens, person]) over the view, weights in millionths.

    Materialized, `out` is a table that keeps the file order, so its `rowid` is the row's
    position in the file(s). Not materialized (measures only, on a large table), it is a view
    and the data are read once, by the group-by. Values that must not be missing are checked
    either way."""
    keys = ", ".join(f"{ident(k)} AS k{i}" for i, k in enumerate(study.keys))
    s = f"CAST({ident(study.year)} AS INTEGER)" if study.year else "0"
    # weights in millionths, as integers: sums are exact whatever order threads add them in
    w = f"CAST(round({ident(study.weight)} * 1e6) AS BIGINT)" if study.weight else "1000000::BIGINT"
    extra = ""
    for alias, col in (
        ("hid", study.household),
        ("sens", study.sensitive),
        ("person", study.person),
    ):
        if col is not None:
            extra += f", {ident(col)} AS {alias}"
    kind = "TABLE" if materialize else "VIEW"
    select = f"SELECT {s} AS s, {keys}, 1::BIGINT AS n, {w} AS w {extra} FROM {view}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP {kind} {out} AS {select}")
        checks = [("s", study.year, "year", None, "")]
        if study.weight:
            checks.append(("w", study.weight, "weight", "w <= 0", "not positive"))
        if study.person:
            checks.append(("person", study.person, "person", None, ""))
        for alias, column, role, bad, what in checks:
            if column is None:
                continue
            cond = f"{alias} IS NULL" + (f" OR {bad}" if bad else "")
            if con.execute(f"SELECT count(*) FROM {out} WHERE {cond}").fetchall()[0][0]:
                if not materialize:  # locate the first bad row in file order
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {out}_x AS {select}")
                _require(con, path, out if materialize else f"{out}_x", cond, column, role, what)
    except duckdb.Error as e:
        raise TableError(f"{path}: {str(e).splitlines()[0]}") from None
    if study.person:
        dup = con.execute(
            f"SELECT person, s FROM {out} GROUP BY person, s HAVING count(*) > 1 "
            "ORDER BY person, s LIMIT 1"
        ).fetchall()
        if dup:
            raise TableError(
                f"{path}: person {dup[0][0]} appears more than once in year {dup[0][1]} "
                f"({study.person}, {study.year}): a panel has one row per person and year"
            )


def _require(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    cond: str,
    column: str,
    role: str,
    what: str,
) -> None:
    row = con.execute(f"SELECT min(rowid) FROM {table} WHERE {cond}").fetchall()[0][0]
    problem = f"is missing or {what}" if what else "is missing"
    raise TableError(f"{path}: row {int(row) + 1}: {role} column {column!r} {problem}")
