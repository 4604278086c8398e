"""Turn a deliberation's variable names into checked, resolved output columns.

This is where the deliberation is enforced before any data is read: a table may only name
variables the deliberation lists, T+1 / T−1 columns only those its offsets authorise, every
variable goes through the coarsening it prescribes, and no direct identifier (or an exact
identifying date) can become an output column.
"""

from __future__ import annotations

from dataclasses import dataclass

from kluis.deliberation.coarsening import Scheme, scheme
from kluis.deliberation.model import Deliberation, Variable
from kluis.deliberation.sources import ResolvedSource, resolve
from kluis.errors import Refused
from kluis.extract.context import ColumnKind, ColumnMeta
from kluis.extract.recode import Categories, describe_source

# output column names that must never appear, whatever a deliberation says
FORBIDDEN_COLUMNS = frozenset(
    {"insz", "kbo_number", "rsz_number", "birth_date", "death_date", "household_id"}
)


class EnforcementError(Refused):
    """The requested output is not what the deliberation authorises."""


@dataclass(frozen=True)
class Planned:
    """One authorised variable, resolved: where it comes from, how it is coarsened, and what
    the output column looks like."""

    var: Variable
    source: ResolvedSource
    scheme: Scheme
    kind: ColumnKind
    categories: Categories

    @property
    def name(self) -> str:
        return self.var.name

    @property
    def source_text(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in sorted(self.var.where.items()))
        return f"{self.var.source} [{where}]" if where else self.var.source

    def meta(self, name: str | None = None, label_suffix: str = "", note: str = "") -> ColumnMeta:
        return ColumnMeta(
            name=name or self.name,
            kind=self.kind,
            label=(self.var.label or self.name) + label_suffix,
            categories=self.categories,
            source=self.source_text,
            coarsening=self.scheme.name,
            note=note,
        )


def plan_variable(d: Deliberation, name: str, unit: str = "person") -> Planned:
    """Resolve and check one variable of deliberation `d`."""
    var = d.variable(name)  # KeyError names the deliberation and the variable
    src = resolve(var.source)
    sch = scheme(var.coarsening)
    where = f"deliberation {d.number}, variable {name}"
    if src.identifier is not None:
        raise EnforcementError(f"{where}: source {src.text} is a direct identifier")
    if src.allowed_schemes is not None and sch.name not in src.allowed_schemes:
        raise EnforcementError(
            f"{where}: {src.text} identifies a person unless coarsened with "
            f"{' or '.join(sorted(src.allowed_schemes))}, not {sch.name}"
        )
    if unit not in src.units:
        raise EnforcementError(f"{where}: source {src.text} is not available for unit {unit}")
    missing_keys = set(src.extra_keys(unit)) - set(var.where)  # type: ignore[arg-type]
    if missing_keys:
        raise EnforcementError(
            f"{where}: {src.text} has several rows per {unit} and year; `where` must fix "
            f"{', '.join(sorted(missing_keys))}"
        )
    if src.kind == "pseudonym":
        if sch.kind != "identity":
            raise EnforcementError(f"{where}: a pseudonym is never coarsened")
        return Planned(var, src, sch, "pseudonym", ())
    if src.kind == "input":
        raise EnforcementError(f"{where}: input columns exist only for employer studies")
    kind, categories = describe_source(sch, src)
    return Planned(var, src, sch, kind, categories)


def check_output_names(names: list[str] | tuple[str, ...], table: str) -> None:
    """Last line of defence: no identifier-named column, no duplicate column."""
    bad = sorted(set(names) & FORBIDDEN_COLUMNS)
    if bad:
        raise EnforcementError(f"table {table}: output would contain identifier column(s) {bad}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EnforcementError(f"table {table}: duplicate output column(s) {dup}")
