"""Semantic checks of a deliberation against the warehouse schema and the catalogues.

Pydantic (model.py) checks the shape; this module checks the meaning, so that nothing the
Committee did not authorise — and nothing that identifies a person or employer — can be written
into a file by accident: every source must exist, every coarsening must fit its column, every
variable of a table must be authorised (at T+1 / T-1 by `offsets`), and the dates must be in order.
Each problem names the YAML line and field (see load.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from kluis.deliberation.coarsening import CATALOGUE
from kluis.deliberation.errors import FieldPath, Problem, format_path
from kluis.deliberation.model import (
    Deliberation,
    EmployerCellTable,
    Measure,
    PersonYearTable,
    ScramblePhase,
)
from kluis.deliberation.read import Parsed
from kluis.deliberation.risk_checks import check_risk
from kluis.deliberation.sources import ResolvedSource, UnknownSource, resolve
from kluis.schema import FIRST_YEAR, LAST_YEAR
from kluis.yamlfile import locate

# person_year holds persons aged 13-66 on 31 December (see the warehouse population contract)
WAREHOUSE_AGES = (13, 66)

_TABLE_UNIT = {"person-year": "person", "employer-year-cell": "employer"}
_AGGREGATE_TYPE = {"count": "int64", "mean": "float64"}
_EMPLOYER_LEVEL = ("input", "pseudonym")


def validate_parsed(parsed: Parsed) -> list[Problem]:
    """Every semantic problem of a parsed file, located at its line."""
    return validate(parsed.deliberation, parsed.lines, str(parsed.path))


def validate(
    d: Deliberation, lines: dict[FieldPath, int] | None = None, file: str = "<deliberation>"
) -> list[Problem]:
    """Every semantic problem of a deliberation; empty when it may be enforced."""
    found: list[tuple[FieldPath, str]] = []
    _Checker(d, found).run()
    lines = lines or {}
    return [Problem(file, locate(lines, path), format_path(path), msg) for path, msg in found]


class _Checker:
    def __init__(self, d: Deliberation, found: list[tuple[FieldPath, str]]) -> None:
        self.d = d
        self.found = found
        self.unit = d.population.unit
        self.names = {v.name for v in d.variables}
        self.resolved: dict[str, ResolvedSource] = {}
        self.raw_output = raw_output_names(d)
        self.measure_inputs = {
            m.variable
            for t in d.tables
            if isinstance(t, EmployerCellTable)
            for m in (*t.cell_measures, *t.employer_measures)
            if m.variable is not None
        }

    def err(self, path: FieldPath, message: str) -> None:
        self.found.append((path, message))

    def run(self) -> None:
        self.dates()
        self.population()
        self.variables()
        self.offsets()
        for i, t in enumerate(self.d.tables):
            self.table(i, t)
        self.duplicates([t.name for t in self.d.tables], ("tables",), "table")
        self.phases()
        self.output_rules()
        check_risk(self)  # the `risk:` section (risk_checks.py)

    # ---- identity and dates -------------------------------------------------------------------
    def dates(self) -> None:
        d = self.d
        if d.effective < d.date:
            self.err(
                ("effective",),
                f"takes effect on {d.effective}, before the deliberation date {d.date}",
            )
        if d.retention < d.effective:
            self.err(
                ("retention",),
                f"retention date {d.retention} is before the date the "
                f"deliberation takes effect ({d.effective})",
            )
        for name, numbers in (("ends", d.ends), ("extends", d.extends)):
            for i, number in enumerate(numbers):
                if number == d.number:
                    self.err((name, i), f"a deliberation cannot {name[:-1]} itself")
                elif not _is_number(number):
                    self.err((name, i), f"{number!r} is not a deliberation number like 24/130")

    def population(self) -> None:
        p = self.d.population
        for key, year in (("first", p.years.first), ("last", p.years.last)):
            if not FIRST_YEAR <= year <= LAST_YEAR:
                self.err(
                    ("population", "years", key),
                    f"year {year} is outside the warehouse years {FIRST_YEAR}-{LAST_YEAR}",
                )
        if p.unit == "person":
            lo, hi = p.age
            if lo > hi:
                self.err(("population", "age"), f"age range {lo}-{hi}: lower bound above upper")
            elif lo < WAREHOUSE_AGES[0] or hi > WAREHOUSE_AGES[1]:
                self.err(
                    ("population", "age"),
                    f"age range {lo}-{hi} outside the ages the "
                    f"warehouse holds ({WAREHOUSE_AGES[0]}-{WAREHOUSE_AGES[1]})",
                )

    # ---- variables ----------------------------------------------------------------------------
    def variables(self) -> None:
        self.duplicates([v.name for v in self.d.variables], ("variables",), "variable")
        for i, v in enumerate(self.d.variables):
            base: FieldPath = ("variables", i)
            try:
                src = resolve(v.source)
            except UnknownSource as e:
                self.err((*base, "source"), str(e))
                continue
            self.resolved.setdefault(v.name, src)
            if src.identifier is not None:
                what = (
                    "a warehouse-internal identifier"
                    if src.identifier == "internal"
                    else (f"a direct identifier ({src.identifier})")
                )
                self.err(
                    (*base, "source"),
                    f"{v.source} is {what} and can never be authorised; "
                    "use pseudonym.person / pseudonym.employer for the sequence number",
                )
                continue
            if self.unit not in src.units:
                self.err(
                    (*base, "source"),
                    f"{v.source} cannot be used with {_a(self.unit)} "
                    f"population (only {', '.join(src.units)})",
                )
                continue
            self.where(base, v.where, src)
            scheme = CATALOGUE.get(v.coarsening)
            if scheme is None:
                self.err((*base, "coarsening"), _unknown_scheme(v.coarsening))
                continue
            if src.allowed_schemes is not None and v.coarsening not in src.allowed_schemes:
                self.err(
                    (*base, "coarsening"),
                    f"{v.source} identifies a person: it may only be "
                    f"authorised coarsened with {', '.join(sorted(src.allowed_schemes))} "
                    f"(not {v.coarsening!r})",
                )
            elif v.name in self.measure_inputs and v.name not in self.raw_output:
                if v.coarsening != "none":
                    self.err(
                        (*base, "coarsening"),
                        f"{v.name!r} is only aggregated (input of a measure): its raw value is "
                        "averaged, so give the classes on the measure and use 'none' here",
                    )
            elif not scheme.accepts_type(src.type):
                self.err((*base, "coarsening"), _not_applicable(v.coarsening, src))

    def where(self, base: FieldPath, where: dict, src: ResolvedSource) -> None:
        keys = src.extra_keys(self.unit)
        missing = [k for k in keys if k not in where]
        if missing:
            self.err(
                (*base, "source"),
                f"{src.table} has several rows per {self.unit} and year: "
                f"`where` must fix {', '.join(missing)}",
            )
        for key, value in where.items():
            if key not in keys:
                allowed = f"only {', '.join(keys)}" if keys else "none: one row per unit and year"
                self.err(
                    (*base, "where", key),
                    f"{key!r} cannot be fixed for {src.table} (keys to fix: {allowed})",
                )
                continue
            col = src.schema_table.column(key) if src.schema_table else None
            if col is None:
                continue
            problem = _value_problem(col, value)
            if problem:
                self.err((*base, "where", key), problem)

    # ---- offsets and tables -------------------------------------------------------------------
    def offsets(self) -> None:
        o = self.d.offsets
        if self.unit != "person" and (o.next or o.previous):
            self.err(("offsets",), "offsets (T+1 / T-1) apply to person populations only")
        for key, names in (("next", o.next), ("previous", o.previous)):
            self.duplicates(list(names), ("offsets", key), "variable")
            for j, name in enumerate(names):
                self.known(("offsets", key, j), name)

    def table(self, i: int, t: PersonYearTable | EmployerCellTable) -> None:
        base: FieldPath = ("tables", i)
        if _TABLE_UNIT[t.unit] != self.unit:
            self.err(
                (*base, "unit"),
                f"{_a(t.unit)} table needs {_a(_TABLE_UNIT[t.unit])} "
                f"population, but population.unit is {self.unit}",
            )
        if isinstance(t, PersonYearTable):
            self.person_year_table(base, t)
        else:
            self.cell_table(base, t)

    def person_year_table(self, base: FieldPath, t: PersonYearTable) -> None:
        self.duplicates(list(t.variables), (*base, "variables"), "variable")
        for j, name in enumerate(t.variables):
            self.known((*base, "variables", j), name)
        for key, offset, allowed in (
            ("next_year", "T+1", self.d.offsets.next),
            ("previous_year", "T-1", self.d.offsets.previous),
        ):
            names = getattr(t, key)
            self.duplicates(list(names), (*base, key), "variable")
            for j, name in enumerate(names):
                if self.known((*base, key, j), name) and name not in allowed:
                    field = "offsets.next" if offset == "T+1" else "offsets.previous"
                    self.err(
                        (*base, key, j),
                        f"variable {name!r} is used at {offset} but {field} does not authorise it",
                    )

    def cell_table(self, base: FieldPath, t: EmployerCellTable) -> None:
        if self.known((*base, "employer"), t.employer):
            src = self.resolved.get(t.employer)
            if src is not None and src.text != "pseudonym.employer":
                self.err(
                    (*base, "employer"),
                    f"{t.employer!r} must be the employer sequence "
                    f"number (source pseudonym.employer), not {src.text}",
                )
        self.duplicates(list(t.by), (*base, "by"), "variable")
        for j, name in enumerate(t.by):
            self.known((*base, "by", j), name)
        for j, name in enumerate(t.employer_variables):
            if self.known((*base, "employer_variables", j), name):
                src = self.resolved.get(name)
                if src is not None and not (
                    src.kind in _EMPLOYER_LEVEL or src.table == "employers"
                ):
                    self.err(
                        (*base, "employer_variables", j),
                        f"{name!r} ({src.text}) is not "
                        "a characteristic of the employer; use an employer measure",
                    )
        measures = [*t.cell_measures, *t.employer_measures]
        self.duplicates([m.name for m in measures], (*base, "measures"), "measure")
        for key, ms in (
            ("cell_measures", t.cell_measures),
            ("employer_measures", t.employer_measures),
        ):
            for j, m in enumerate(ms):
                self.measure((*base, key, j), m)

    def measure(self, base: FieldPath, m: Measure) -> None:
        if m.aggregate == "count" and m.variable is not None:
            self.err((*base, "variable"), "a count needs no variable")
        if m.aggregate == "mean":
            if m.variable is None:
                self.err((*base, "variable"), "a mean needs the variable it averages")
            elif self.known((*base, "variable"), m.variable):
                src = self.resolved.get(m.variable)
                if src is not None and src.type not in (
                    "int8",
                    "int16",
                    "int32",
                    "int64",
                    "float64",
                ):
                    self.err(
                        (*base, "variable"),
                        f"cannot average {m.variable!r} ({src.text} is {src.type})",
                    )
        scheme = CATALOGUE.get(m.coarsening)
        if scheme is None:
            self.err((*base, "coarsening"), _unknown_scheme(m.coarsening))
        elif not scheme.accepts_type(_AGGREGATE_TYPE[m.aggregate]):
            self.err(
                (*base, "coarsening"),
                f"scheme {m.coarsening!r} does not accept a "
                f"{m.aggregate} ({_AGGREGATE_TYPE[m.aggregate]}); "
                + ("averages must be given in classes" if m.aggregate == "mean" else ""),
            )

    # ---- phases and output rules --------------------------------------------------------------
    def phases(self) -> None:
        spec = self.d.phases.development.spec
        base: FieldPath = ("phases", "development", "spec")
        if isinstance(spec, ScramblePhase):
            self.duplicates(list(spec.swap_variables), (*base, "swap_variables"), "variable")
            for key in ("swap_variables", "strata"):
                for j, name in enumerate(getattr(spec, key)):
                    self.known((*base, key, j), name)
            for j, name in enumerate(spec.swap_variables):
                if name in spec.strata:
                    self.err(
                        (*base, "swap_variables", j),
                        f"{name!r} is also a stratum: "
                        "swapping it within its own strata changes nothing",
                    )
        elif self.unit != "person":
            self.err((*base, "method"), "a sample of persons needs a person population")

    def output_rules(self) -> None:
        dom = self.d.output_rules.dominance
        base: FieldPath = ("output_rules", "dominance")
        if not 0 < dom.p < 100:
            self.err((*base, "p"), f"p% rule needs 0 < p < 100 (got {dom.p})")
        if dom.n < 1:
            self.err((*base, "n"), f"(n,k) rule needs n >= 1 (got {dom.n})")
        if not 0 < dom.k <= 100:
            self.err((*base, "k"), f"(n,k) rule needs 0 < k <= 100 (got {dom.k})")

    # ---- helpers ------------------------------------------------------------------------------
    def known(self, path: FieldPath, name: str) -> bool:
        if name in self.names:
            return True
        self.err(path, f"unknown variable {name!r}: not authorised in `variables`")
        return False

    def duplicates(self, names: Iterable[str], base: FieldPath, what: str) -> None:
        names = list(names)
        for name, n in Counter(names).items():
            if n > 1:
                last = len(names) - 1 - names[::-1].index(name)
                suffix = (
                    ("name",)
                    if what in ("variable", "table") and base in (("variables",), ("tables",))
                    else ()
                )
                self.err((*base, last, *suffix), f"duplicate {what} {name!r} ({n} times)")


def raw_output_names(d: Deliberation) -> set[str]:
    """Variables whose (coarsened) value appears row by row in an output; the others are only
    ever aggregated (inputs of a measure), so their raw type need not fit a scheme."""
    out: set[str] = set(d.offsets.next) | set(d.offsets.previous)
    for t in d.tables:
        if isinstance(t, PersonYearTable):
            out |= {*t.variables, *t.next_year, *t.previous_year}
        else:
            out |= {t.employer, *t.by, *t.employer_variables}
    return out


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _is_number(text: str) -> bool:
    head, _, tail = text.partition("/")
    return len(head) == 2 and len(tail) == 3 and head.isdigit() and tail.isdigit()


def _unknown_scheme(name: str) -> str:
    return f"unknown coarsening scheme {name!r}; known: {', '.join(sorted(CATALOGUE))}"


def _not_applicable(name: str, src: ResolvedSource) -> str:
    scheme = CATALOGUE[name]
    hint = ""
    if src.type == "float64" and scheme.kind == "identity":
        hint = ": amounts and fractions must be given in classes or deciles"
    elif src.type == "date" and scheme.kind == "identity":
        hint = ": dates must be given as year_month or year"
    return (
        f"scheme {name!r} ({scheme.kind}) does not apply to {src.text} ({src.type}); it "
        f"accepts {', '.join(scheme.accepts)}{hint}"
    )


def _value_problem(col, value: object) -> str | None:
    if col.codes:
        try:
            from kluis.codes import load as load_codes

            codes = load_codes(col.codes)
        except (KeyError, FileNotFoundError):
            return None  # code list not shipped: the schema check of the warehouse covers it
        if str(value) not in codes:
            return f"{value!r} is not a code of {col.codes} ({', '.join(codes.codes)})"
        return None
    if col.type.startswith("int") and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{value!r} is not an integer"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    low = number and col.min is not None and value < col.min
    high = number and col.max is not None and value > col.max
    if low or high:
        return f"{value} is outside {col.min}-{col.max}"
    return None
