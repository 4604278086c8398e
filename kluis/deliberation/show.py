"""The steward's view of a deliberation: what it authorises, in the order of the legal text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kluis.deliberation.coarsening import CATALOGUE
from kluis.deliberation.dates import status
from kluis.deliberation.model import (
    Deliberation,
    EmployerCellTable,
    Measure,
    PersonPopulation,
    PersonYearTable,
    SamplePhase,
    Variable,
)
from kluis.deliberation.validate import raw_output_names

_SECTIONS = {
    "person": "Persoonskenmerken (person characteristics)",
    "sep": "Socio-economische positie (socio-economic position)",
    "work": "Arbeidsprestaties (work)",
    "social_security": "Sociale zekerheid (social security)",
    "employer": "Werkgever (employer)",
    "cell": "Werknemers per cel (employees, per cell)",
}
_STATE_STYLE = {
    "in_force": "bold green",
    "not_yet_in_effect": "bold yellow",
    "ended": "bold red",
    "retention_passed": "bold red",
}


def render(
    d: Deliberation,
    today: dt.date,
    registry: Mapping[str, Deliberation] | None,
    console: Console,
    *,
    unknown: str | None = None,
) -> None:
    """Print the summary of `d` with its status on `today` (`registry` None: the status is not
    known, for the reason `unknown`)."""
    console.print(_identity(d, today, registry, unknown))
    console.print(_population(d))
    console.print(_variables(d))
    if d.offsets.next or d.offsets.previous:
        console.print(_offsets(d))
    for t in d.tables:
        console.print(_table(d, t))
    console.print(_phases(d))
    r = d.output_rules
    console.print(
        Panel(
            f"minimum cell size {r.min_cell}; dominance p% rule p={r.dominance.p}, "
            f"(n,k) rule n={r.dominance.n}, k={r.dominance.k}%; protection interval "
            f"{r.protection:.0%}",
            title="Output rules (small cell risk analysis)",
        )
    )


def _identity(
    d: Deliberation,
    today: dt.date,
    registry: Mapping[str, Deliberation] | None,
    unknown: str | None,
) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows = [
        ("Number", d.number),
        ("Date", str(d.date)),
        ("Title", d.title),
        ("Recipient", d.recipient),
        ("Purpose", d.purpose),
        ("Legal basis", d.legal_basis),
        ("Takes effect", str(d.effective)),
        ("Ends", ", ".join(d.ends) or "-"),
        ("Retention", f"{d.retention} (pseudonymised data destroyed at the latest then)"),
    ]
    for k, v in rows:
        grid.add_row(k, v)
    if registry is None:
        state = Text(f"unknown: {unknown or 'no registry'}", style="bold yellow")
    else:
        s = status(d, today, registry)
        state = Text(f"{s.state.replace('_', ' ')}: {s.reason}", style=_STATE_STYLE[s.state])
    grid.add_row(f"Status on {today}", state)
    return Panel(grid, title=f"Deliberation {d.number}")


def _population(d: Deliberation) -> Panel:
    p = d.population
    years = f"{p.years.first}-{p.years.last} ({len(p.years.years)} years)"
    if isinstance(p, PersonPopulation):
        parts = [
            f"Persons aged {p.age[0]}-{p.age[1]} on 31 December",
            "living in Belgium" if p.resident else "resident or not",
            "excluding the waiting register"
            if p.exclude_waiting_register
            else "including the waiting register",
            f"years {years}",
        ]
    else:
        e = p.enterprises
        parts = [
            f"Employers from the enterprise list of {e.provider} ({e.format})",
            f"groups {', '.join(e.groups)}",
            f"employees counted: {p.employees.replace('_', ' ')}",
            f"years {years}",
        ]
    body = "; ".join(parts)
    if p.description:
        body += f"\n[dim]{p.description}[/dim]"
    return Panel(body, title="Population")


def _classes(name: str) -> str:
    s = CATALOGUE.get(name)
    if s is None:
        return name
    return "as is" if s.kind == "identity" and name == "none" else f"{name}: {s.summary()}"


def _variables(d: Deliberation) -> Group:
    raw = raw_output_names(d)
    parts = []
    for section, title in _SECTIONS.items():
        vs = [v for v in d.variables if v.section == section]
        if not vs:
            continue
        t = Table(title=title, title_justify="left", expand=True)
        t.add_column("variable", style="bold", no_wrap=True)
        t.add_column("source")
        t.add_column("classes")
        t.add_column("seed text", style="italic")
        for v in vs:
            classes = _classes(v.coarsening) if v.name in raw else "only aggregated (see table)"
            t.add_row(v.name, _source(v), classes, v.seed_text)
        parts.append(t)
    return Group(*parts)


def _source(v: Variable) -> str:
    if not v.where:
        return v.source
    return f"{v.source} where " + ", ".join(f"{k}={val}" for k, val in v.where.items())


def _offsets(d: Deliberation) -> Panel:
    return Panel(
        f"[bold]T+1[/bold] ({len(d.offsets.next)}): {', '.join(d.offsets.next) or '-'}\n\n"
        f"[bold]T-1[/bold] ({len(d.offsets.previous)}): {', '.join(d.offsets.previous) or '-'}",
        title="Authorised at the next (T+1) and previous (T-1) year",
    )


def _table(d: Deliberation, t: PersonYearTable | EmployerCellTable) -> Panel:
    if isinstance(t, PersonYearTable):
        body = (
            f"{t.description}\n[bold]year T[/bold] ({len(t.variables)}): {', '.join(t.variables)}"
        )
        if t.next_year:
            body += f"\n[bold]T+1[/bold] ({len(t.next_year)}): {', '.join(t.next_year)}"
        if t.previous_year:
            body += f"\n[bold]T-1[/bold] ({len(t.previous_year)}): {', '.join(t.previous_year)}"
    else:
        body = (
            f"{t.description}\n"
            f"[bold]employer[/bold]: {t.employer}\n"
            f"[bold]cells[/bold]: {' x '.join(t.by)}\n"
            f"[bold]per cell[/bold]: {'; '.join(_measure(m) for m in t.cell_measures)}\n"
            f"[bold]per employer[/bold]: "
            f"{'; '.join([*(_measure(m) for m in t.employer_measures), *t.employer_variables])}"
        )
    return Panel(body, title=f"Table {t.name} ({t.unit})")


def _measure(m: Measure) -> str:
    what = "count" if m.aggregate == "count" else f"mean of {m.variable}"
    return f"{m.name} = {what}, {_classes(m.coarsening)}"


def _phases(d: Deliberation) -> Panel:
    dev = d.phases.development
    spec = dev.spec
    if isinstance(spec, SamplePhase):
        how = f"sample of {spec.persons_per_year:,} persons per year"
    else:
        how = (
            f"{spec.records:,} records, scrambled: {', '.join(spec.swap_variables)} swapped "
            f"(rate {spec.swap_rate:.0%})"
            + (f" within {', '.join(spec.strata)}" if spec.strata else "")
        )
    full = d.phases.full
    return Panel(
        f"[bold]1. development[/bold]: {how}\n   [dim]{dev.description}[/dim]\n"
        f"[bold]2. full[/bold]: full population, {full.location.replace('_', ' ')}\n"
        f"   [dim]{full.description}[/dim]",
        title="Phases",
    )
