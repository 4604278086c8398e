"""What every trusted output builder shares: where to write, the rules, the query gate, and the
checks that a query keeps its identity columns and uses only constants the project's code holds.

Layout inside the request being built (see kluis.enclave.request):
    outputs/<name>.*            may leave if a checker approves
    internal/<name>.*           statuses, intervals, reports, queries: the checker's only
    internal/history/<name>/    the release record (with person sequence numbers)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from kluis.digest import sha256_file as sha256_of
from kluis.enclave.checks import Rules, RunHistory
from kluis.enclave.extract import ExtractInfo, TableInfo
from kluis.enclave.query import Executor, ident
from kluis.enclave.request import Output
from kluis.enclave.sqlcheck import Checked, QueryRefused

OUTPUTS = "outputs"
INTERNAL = "internal"
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass
class BuildContext:
    """Everything a builder needs; one per run."""

    request_dir: Path  # the request being built (staging directory)
    extract: ExtractInfo
    executor: Executor
    rules: Rules
    history: RunHistory
    deliberation: str  # slug of the deliberation whose rules apply (kept in release records)
    rules_source: str  # "deliberation 26/104"
    code_text: str  # every project file, for the constants check
    phase: str
    _numbers: set[float] | None = field(default=None, repr=False)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)

    def stopwatch(self, name: str) -> Stopwatch:
        """Seconds per part of building output `name` (written to run.log, for the steward)."""
        watch = Stopwatch()
        self.timings[name] = watch.parts
        return watch

    @property
    def catalog(self) -> dict[str, TableInfo]:
        return self.extract.tables

    def path(self, area: str, name: str) -> Path:
        p = self.request_dir / area / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def rel(self, path: Path) -> str:
        return path.relative_to(self.request_dir).as_posix()

    def numbers(self) -> set[float]:
        if self._numbers is None:
            self._numbers = {float(m.group()) for m in _NUMBER.finditer(self.code_text)}
        return self._numbers


class Stopwatch:
    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.parts[part] = self.parts.get(part, 0.0) + now - self._last
        self._last = now


def finish(ctx: BuildContext, output: Output) -> Output:
    """Fill in the sha256 of every file the output names (directories: each file inside)."""
    sums: dict[str, str] = {}
    for rel in output.files.values():
        p = ctx.request_dir / rel
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            sums[ctx.rel(f)] = sha256_of(f)
    return output.model_copy(update={"sha256": sums})


def refused(name: str, kind: str, source: str, reason: str) -> Output:
    return Output(name=name, kind=kind, status="refused", reason=reason, source=source)


@dataclass(frozen=True)
class Identity:
    """The identity columns a checked query keeps: who each row counts."""

    unit: str  # "person" | "employer-cell" (employees by employer) | "employer"
    table: str
    person: str | None = None  # column of the query holding the person sequence number
    employer: str | None = None
    count: str | None = None

    def select(self) -> list[str]:
        """Columns of the output's microdata: __pid (the contributor), [__n] (persons per row)."""
        if self.unit == "person":
            return [f"src.{ident(self.person)} AS __pid"]
        if self.unit == "employer":
            return [f"src.{ident(self.employer)} AS __pid"]
        return [f"src.{ident(self.employer)} AS __pid", f"src.{ident(self.count)} AS __n"]


def identity_of(checked: Checked, catalog: dict[str, TableInfo]) -> Identity:
    """Which unit the query's rows are, from the identity columns it passes through unchanged;
    QueryRefused when it keeps none (or renumbered them)."""
    cols = checked.rel.columns
    for name, origin in cols.items():
        if origin is None:
            continue
        t = catalog[origin.table]
        if t.unit == "person" and origin.column == t.person:
            return Identity("person", t.name, person=name)
    ident_table = catalog[checked.rel.identity]
    if ident_table.unit == "employer-cell":
        emp = next((n for n, o in cols.items() if o == _origin(ident_table, "employer")), None)
        cnt = next((n for n, o in cols.items() if o == _origin(ident_table, "count")), None)
        if emp and cnt:
            return Identity("employer-cell", ident_table.name, employer=emp, count=cnt)
    if ident_table.unit in ("employer", "employer-cell"):
        emp = next((n for n, o in cols.items() if o == _origin(ident_table, "employer")), None)
        if emp:
            return Identity("employer", ident_table.name, employer=emp)
    raise QueryRefused(
        "the rows must keep, unchanged, who they count: the person sequence number "
        "(person_id) of a person table, or employer_id and n_employees of an employer table"
    )


def _origin(t: TableInfo, which: str):
    from kluis.enclave.sqlcheck import Origin

    return Origin(t.name, getattr(t, which))


def foreign_constants(ctx: BuildContext, checked: Checked) -> list[str]:
    """Constants in the query that the project's code does not contain. Code inside the sandbox
    sees the full data and could compute a constant from it (a value smuggled out through a
    filter or a label), so such an output goes to a checker instead of being marked safe."""
    out: list[str] = []
    for lit in checked.literals:
        text = lit.this
        if lit.is_string:
            if text and text not in ctx.code_text:
                out.append(repr(text))
            continue
        try:
            value = float(text)
        except ValueError:
            out.append(text)
            continue
        if value.is_integer() and abs(value) <= 10:
            continue  # 0, 1 and small offsets come from the Ibis compiler itself
        if value not in ctx.numbers():
            out.append(text)
    return sorted(set(out))


def literal_sql(value: float) -> str:
    return exp.Literal.number(repr(float(value))).sql(dialect="duckdb")
