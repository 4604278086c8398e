"""The researcher's API inside the enclave (`import kluis.safe as safe`).

Read the extract lazily with `data(name)` (an Ibis table over the mounted Parquet files: the
full population is never loaded into memory unless you ask for it) and ask for outputs with
`crosstab`, `pivot_table`, `describe`, `histogram`, `ols` / `logit` / `probit` and `file`.

None of these computes what leaves. Each writes a request (see kluis.enclave.intents) with the
query behind the output; after your code has finished, the enclave runs that query itself on the
extract, applies the deliberation's rules (which your code cannot see or set) and writes the
checked output into the output request. Each call returns a `Requested` handle naming the output.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import itertools
import json
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kluis.enclave.formula import parse_formula
from kluis.enclave.intents import (
    FILES_DIR,
    INTENTS_DIR,
    DescribeIntent,
    FileIntent,
    HistogramIntent,
    RegressionIntent,
    TableIntent,
    TamperIntent,
    dump,
)

CONTEXT_ENV = "KLUIS_ENCLAVE_CONTEXT"
#: keyword arguments that would set disclosure rules: refused and reported
RULE_WORDS = frozenset(
    {
        "rules",
        "min_cell",
        "min_frequency",
        "threshold",
        "p_percent",
        "p",
        "nk",
        "dominance",
        "protection",
        "protection_ratio",
        "method",
        "suppress",
        "safe",
        "spec",
        "zeros",
    }
)
_AGGFUNCS = {
    None: "count",
    "count": "count",
    "sum": "sum",
    "mean": "mean",
    "median": "median",
    "min": "min",
    "max": "max",
    "quantile": "quantile",
}
MAX_FILE_BYTES = 50 << 20


class EnclaveError(RuntimeError):
    """kluis.safe used outside `kluis enclave run`, or used wrongly."""


@dataclass(frozen=True)
class Requested:
    """The handle of an output asked for: it is checked after the run, outside the sandbox."""

    name: str
    kind: str

    def __repr__(self) -> str:
        return f"<kluis output {self.name!r} ({self.kind}): checked by the enclave after the run>"


@dataclass
class _Context:
    extract: Path
    tables: dict[str, list[str]]
    outbox: Path
    project: Path
    entry: str
    deliberation: str
    phase: str
    rules: dict
    memory_limit: str
    threads: int
    counter: itertools.count
    names: set[str]


@cache
def _context() -> _Context:
    path = os.environ.get(CONTEXT_ENV)
    if not path:
        raise EnclaveError("kluis.safe works inside `kluis enclave run` only")
    c = json.loads(Path(path).read_text(encoding="utf-8"))
    return _Context(
        extract=Path(c["extract"]),
        tables=c["tables"],
        outbox=Path(c["outbox"]),
        project=Path(c["project"]),
        entry=c["entry"],
        deliberation=c["deliberation"],
        phase=c["phase"],
        rules=c["rules"],
        memory_limit=c.get("memory_limit", "2GB"),
        threads=int(c.get("threads", 1)),
        counter=itertools.count(1),
        names=set(),
    )


@cache
def _connection():
    import ibis

    c = _context()
    return ibis.duckdb.connect(
        memory_limit=c.memory_limit, threads=c.threads, temp_directory="/tmp/kluis-duckdb"
    )


def tables() -> list[str]:
    """The extract's tables."""
    return sorted(_context().tables)


def data(name: str):
    """The extract's table `name` (all years; `year` is a column) as a lazy Ibis table."""
    c = _context()
    if name not in c.tables:
        raise KeyError(f"the extract has no table {name!r}; its tables: {', '.join(tables())}")
    files = [str(c.extract / f) for f in c.tables[name]]
    return _connection().read_parquet(files, table_name=name, hive_partitioning=False)


def rules() -> dict:
    """The deliberation's output rules the enclave will apply (for information: they cannot be
    changed from here)."""
    return json.loads(json.dumps(_context().rules))


def _caller() -> str:
    c = _context()
    here = Path(__file__).resolve().parent
    for frame in inspect.stack()[2:]:
        path = Path(frame.filename)
        if here not in path.resolve().parents and path.name != "__init__.py":
            with contextlib.suppress(ValueError):
                path = path.resolve().relative_to(c.project.resolve())
            return f"{path}:{frame.lineno}"
    return c.entry


def _no_rules(func: str, kwargs: dict[str, Any]) -> None:
    """Rules come from the deliberation: a keyword that tries to set them is reported to the
    enclave (it goes into the audit log) and refused."""
    tried = sorted(k for k in kwargs if k.lower() in RULE_WORDS)
    if tried:
        detail = f"{func}() called with {', '.join(f'{k}=' for k in tried)}: rules cannot be set"
        _write(TamperIntent(source=_caller(), detail=detail))
        raise PermissionError(
            f"{detail}: the enclave applies the output rules of deliberation "
            f"{_context().deliberation} and nothing else"
        )
    if kwargs:
        raise TypeError(f"{func}() got unexpected keyword argument(s) {sorted(kwargs)}")


def _name(kind: str, name: str | None) -> str:
    c = _context()
    seq = next(c.counter)
    if name is None:
        name = f"{Path(c.entry).stem}_{kind}_{seq:03d}"
    if name in c.names:
        raise ValueError(f"output name {name!r} is already used in this run")
    c.names.add(name)
    return name


def _write(intent) -> None:
    c = _context()
    folder = c.outbox / INTENTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.iterdir())) + 1
    tmp = folder / f".{n:05d}.tmp"
    tmp.write_text(dump(intent), encoding="utf-8")
    tmp.rename(folder / f"{n:05d}.json")


def _sql(table: Any, func: str, needed: list[str]) -> str:
    import ibis
    import ibis.expr.types as ir

    if not isinstance(table, ir.Table):
        raise TypeError(
            f"{func}() needs the Ibis table kluis.safe.data() returns (filtered, mutated and "
            f"joined as you like), not a {type(table).__name__}: the enclave recomputes every "
            "output from the extract"
        )
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise KeyError(f"{func}(): no column(s) {missing}; the table has {list(table.columns)}")
    return ibis.to_sql(table, dialect="duckdb")


def _columns(x: str | list[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def crosstab(
    table: Any,
    index: str | list[str],
    columns: str | list[str] | None = None,
    values: str | None = None,
    aggfunc: str | None = None,
    *,
    q: float | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Requested:
    """Distinct persons (or `aggfunc` of `values`) by the `index` and `columns` dimensions,
    with every margin. aggfunc: count, sum, mean, median, quantile (with q), min, max."""
    _no_rules("crosstab", kwargs)
    if aggfunc not in _AGGFUNCS:
        raise ValueError(f"aggfunc {aggfunc!r}: use one of {sorted(k for k in _AGGFUNCS if k)}")
    statistic = _AGGFUNCS[aggfunc]
    if statistic not in ("count",) and values is None:
        raise ValueError(f"aggfunc {aggfunc!r} needs values=")
    if statistic == "quantile" and q is None:
        raise ValueError("aggfunc 'quantile' needs q= (between 0 and 1)")
    dims = _columns(index) + _columns(columns)
    needed = dims + ([values] if values else [])
    intent = TableIntent(
        name=_name("table", name),
        source=_caller(),
        sql=_sql(table, "crosstab", needed),
        dimensions=dims,
        values=values if statistic != "count" else None,
        statistic=statistic,
        quantile=q if statistic == "quantile" else (0.5 if statistic == "median" else None),
    )
    _write(intent)
    return Requested(intent.name, "table")


def pivot_table(
    table: Any,
    values: str,
    index: str | list[str],
    columns: str | list[str] | None = None,
    aggfunc: str = "mean",
    **kwargs: Any,
) -> Requested:
    """`crosstab` in pandas.pivot_table's argument order."""
    return crosstab(table, index, columns, values=values, aggfunc=aggfunc, **kwargs)


def describe(
    table: Any, columns: str | list[str] | None = None, *, name: str | None = None, **kwargs: Any
) -> Requested:
    """Count, mean, standard deviation, quartiles, minimum and maximum of numeric columns
    (each statistic published only where the rules allow)."""
    _no_rules("describe", kwargs)
    cols = _columns(columns)
    if not cols:
        cols = [c for c, t in table.schema().items() if t.is_numeric() and c not in _ids()]
    intent = DescribeIntent(
        name=_name("describe", name),
        source=_caller(),
        sql=_sql(table, "describe", cols),
        columns=cols,
    )
    _write(intent)
    return Requested(intent.name, "describe")


def _ids() -> set[str]:
    return {"person_id", "employer_id", "year"}


def histogram(
    table: Any,
    column: str,
    bins: int = 10,
    range: tuple[float, float] | None = None,  # noqa: A002 - numpy's name
    *,
    edges: list[float] | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Requested:
    """Persons per bin of `column`. Give the bins (`range` with `bins`, or `edges`): edges taken
    from the data would publish its minimum and maximum."""
    _no_rules("histogram", kwargs)
    if edges is None:
        if range is None:
            raise ValueError(
                "histogram() needs range=(low, high) or edges=[...]: bins computed from the data "
                "would publish its minimum and maximum"
            )
        low, high = float(range[0]), float(range[1])
        if not high > low or bins < 1:
            raise ValueError("histogram(): range must be (low, high) with low < high, bins >= 1")
        edges = [low + (high - low) * i / bins for i in builtins.range(bins + 1)]
    intent = HistogramIntent(
        name=_name("histogram", name),
        source=_caller(),
        sql=_sql(table, "histogram", [column]),
        column=column,
        edges=[float(e) for e in edges],
    )
    _write(intent)
    return Requested(intent.name, "histogram")


def _model(kind: str, formula: str, table: Any, name: str | None, kwargs: dict) -> Requested:
    _no_rules(kind, kwargs)
    parsed = parse_formula(formula)  # refuse what the trusted side would refuse, early
    intent = RegressionIntent(
        name=_name(kind, name),
        source=_caller(),
        sql=_sql(table, kind, parsed.columns),
        model=kind,
        formula=formula,
    )
    _write(intent)
    return Requested(intent.name, "regression")


def ols(formula: str, table: Any, *, name: str | None = None, **kwargs: Any) -> Requested:
    """Ordinary least squares (statsmodels formula): coefficients and fit statistics only."""
    return _model("ols", formula, table, name, kwargs)


def logit(formula: str, table: Any, *, name: str | None = None, **kwargs: Any) -> Requested:
    """Logistic regression of a 0/1 outcome: coefficients and fit statistics only."""
    return _model("logit", formula, table, name, kwargs)


def probit(formula: str, table: Any, *, name: str | None = None, **kwargs: Any) -> Requested:
    """Probit regression of a 0/1 outcome: coefficients and fit statistics only."""
    return _model("probit", formula, table, name, kwargs)


def file(
    path: str | os.PathLike, note: str = "", *, name: str | None = None, **kwargs
) -> Requested:
    """Ask for any file you made (a figure, a text) to leave. It always goes to a checker, who
    reads it with your note; it is never marked safe by the enclave."""
    _no_rules("file", kwargs)
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"file(): {src} is not a file")
    size = src.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file(): {src} is {size:,} bytes; at most {MAX_FILE_BYTES:,}")
    out_name = _name("file", name)
    folder = _context().outbox / FILES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = f"{out_name}{''.join(src.suffixes[-1:])}"
    shutil.copyfile(src, folder / target)
    _write(FileIntent(name=out_name, source=_caller(), path=target, note=str(note)))
    return Requested(out_name, "file")
