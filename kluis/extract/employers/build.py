"""`kluis extract` for employer studies (deliberation 24/074): employer × education aggregates.

Per employer (known only by a sequence number) and year, for every education level × field: the
number of employees and the mean annual wage and FTE in classes; per employer the mean age in
classes and the NBB group. The builder is called by `kluis extract` with an ExtractContext
(`ctx.inputs["enterprises"]` = the NBB list) and returns two OutputTables:

- `<table>`: employer_id, year, <by...>, <cell measures...>  (one row per non-empty cell)
- `<table>_employers`: employer_id, year, <employer variables...>, <employer measures...>

Phase `full` aggregates every listed enterprise; phase `development` aggregates a scrambled
fragment (employer_fragment.py) with the same expressions, and puts the scrambling report in
the extract (`scrambling_report.json` and the codebook notes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console

from kluis.deliberation.coarsening import Scheme, scheme
from kluis.deliberation.model import EmployerCellTable, EmployerPopulation, ScramblePhase
from kluis.errors import BadInput
from kluis.extract.context import ColumnMeta, ExtractContext, OutputTable
from kluis.extract.employers.fragment import Fragment, scrambled_fragment
from kluis.extract.employers.nbb import NbbList, load_nbb_list
from kluis.extract.employers.nbb_report import render as render_nbb
from kluis.extract.employers.records import (
    aggregate_cells,
    aggregate_employers,
    employee_records,
    listed_jobs,
)
from kluis.extract.plan import EnforcementError, check_output_names, plan_variable
from kluis.extract.recode import recode
from kluis.extract.warehouse import WarehouseTables
from kluis.pseudonym import EMPLOYER, PseudonymKey, sequence_map
from kluis.warehouse.layout import table_path

# deliberation source -> column of the employee records (employer_records.RECORD_SCHEMA)
SOURCE_COLUMNS = {
    "pseudonym.employer": "employer_id",
    "input.group": "group",
    "person_year.education_level": "education_level",
    "person_year.education_field": "education_field",
    "employments.gross_taxable_annual_wage": "annual_wage",
    "employments.fte": "fte",
    "derived.age": "age",
}
REPORT_FILE = "scrambling_report.json"


class EmployerExtractError(BadInput, ValueError):
    """The deliberation or the inputs do not allow an employer extract."""


def enterprise_map(nbb: NbbList, key: PseudonymKey) -> pa.Table:
    """rsz_number, group, employer_id: the listed enterprises with their sequence numbers.

    The number is the rank of HMAC(project key, 'KBO|RSZ'): dense 1..N, meaningless, and
    different in every project (another key gives an unrelated order)."""
    t = nbb.enterprises
    pair = pc.binary_join_element_wise(t.column("kbo_number"), t.column("rsz_number"), "|")
    seq = sequence_map(pair, key, purpose=EMPLOYER, id_name="pair", seq_name="employer_id")
    out = pa.table(
        {
            "rsz_number": t.column("rsz_number"),
            "group": t.column("group"),
            "employer_id": seq.column("employer_id"),
        }
    )
    return out.sort_by([("employer_id", "ascending")])


def _column(ctx: ExtractContext, name: str) -> str:
    var = ctx.deliberation.variable(name)
    col = SOURCE_COLUMNS.get(var.source)
    if col is None:
        raise EmployerExtractError(
            f"deliberation {ctx.deliberation.number}, variable {name}: source {var.source} is "
            f"not available in employer extracts (known: {', '.join(sorted(SOURCE_COLUMNS))})"
        )
    return col


@dataclass(frozen=True)
class _Spec:
    """One employer-year-cell table, resolved against the deliberation."""

    table: EmployerCellTable
    employer: str
    by: dict[str, str]  # output name -> record column
    cell_means: dict[str, tuple[str, Scheme]]
    count_name: str
    employer_means: dict[str, tuple[str, Scheme]]
    employer_vars: dict[str, str]
    columns: tuple[ColumnMeta, ...]
    employer_columns: tuple[ColumnMeta, ...]

    @property
    def cell_columns(self) -> set[str]:
        """Record columns the cell query reads."""
        return {*self.by.values(), *(c for c, _s in self.cell_means.values())}

    @property
    def employer_cols(self) -> set[str]:
        """Record columns the employer query reads."""
        return {*self.employer_vars.values(), *(c for c, _s in self.employer_means.values())}


def _resolve(ctx: ExtractContext, t: EmployerCellTable, groups: tuple[str, ...]) -> _Spec:
    d = ctx.deliberation
    emp = plan_variable(d, t.employer, unit="employer")
    if emp.kind != "pseudonym":
        raise EnforcementError(f"table {t.name}: employer {t.employer} must be a pseudonym")
    by_planned = [plan_variable(d, v, unit="employer") for v in t.by]
    counts = [m for m in t.cell_measures if m.aggregate == "count"]
    if len(counts) != 1:
        raise EmployerExtractError(f"table {t.name}: needs exactly one count cell measure")

    def means(measures) -> dict[str, tuple[str, Scheme]]:
        out = {}
        for m in measures:
            if m.aggregate != "mean" or m.variable is None:
                raise EmployerExtractError(f"table {t.name}: measure {m.name} must be a mean")
            sch = scheme(m.coarsening)
            if sch.kind != "classes":
                raise EnforcementError(
                    f"table {t.name}: mean {m.name} must be coarsened in classes, not "
                    f"{sch.name} (an exact mean of a small cell is a person's value)"
                )
            out[m.name] = (_column(ctx, m.variable), sch)
        return out

    cell_means = means([m for m in t.cell_measures if m.aggregate != "count"])
    employer_means = means(t.employer_measures)
    employer_vars = {v: _column(ctx, v) for v in t.employer_variables}

    def mean_meta(measures) -> list[ColumnMeta]:
        return [
            ColumnMeta(
                m.name,
                "category",
                m.label or m.name,
                tuple((lab, lab) for lab in scheme(m.coarsening).labels),
                source=f"mean of {ctx.deliberation.variable(m.variable).source}",
                coarsening=m.coarsening,
            )
            for m in measures
        ]

    columns = (
        emp.meta(t.employer),
        ColumnMeta("year", "year", "Reference year"),
        *(p.meta() for p in by_planned),
        ColumnMeta(
            counts[0].name,
            "integer",
            counts[0].label or counts[0].name,
            source="count of employees",
        ),
        *mean_meta([m for m in t.cell_measures if m.aggregate != "count"]),
    )
    employer_columns = (
        emp.meta(t.employer),
        ColumnMeta("year", "year", "Reference year"),
        *(
            ColumnMeta(
                v,
                "category",
                d.variable(v).label or v,
                tuple((g, g) for g in groups),
                source=d.variable(v).source,
            )
            for v in t.employer_variables
        ),
        *mean_meta(t.employer_measures),
    )
    for cols, name in ((columns, t.name), (employer_columns, f"{t.name}_employers")):
        check_output_names([c.name for c in cols], name)
    return _Spec(
        t,
        t.employer,
        {p.name: _column(ctx, p.name) for p in by_planned},
        cell_means,
        counts[0].name,
        employer_means,
        employer_vars,
        columns,
        employer_columns,
    )


def _recode_by(records: ir.Table, ctx: ExtractContext, spec: _Spec) -> ir.Table:
    """Apply each by-variable's coarsening to the records (before grouping)."""
    changes = {}
    for name, col in spec.by.items():
        planned = plan_variable(ctx.deliberation, name, unit="employer")
        changes[col] = recode(records[col], planned.scheme, source_type=planned.source.type)
    return records.mutate(**changes)


def _tables(
    spec: _Spec,
    cell_records: dict[int, ir.Table],
    employer_records: dict[int, ir.Table],
    ctx: ExtractContext,
    notes: tuple[str, ...],
) -> list[OutputTable]:
    cells, employers = {}, {}
    for year, rec in cell_records.items():
        c = aggregate_cells(_recode_by(rec, ctx, spec), spec.cell_means, spec.count_name)
        cells[year] = c.select(
            **{spec.employer: c.employer_id, "year": c.year},
            **{name: c[col] for name, col in spec.by.items()},
            **{spec.count_name: c[spec.count_name]},
            **{name: c[name] for name in spec.cell_means},
        )
        e = aggregate_employers(
            employer_records[year], spec.employer_means, tuple(spec.employer_vars.values())
        )
        employers[year] = e.select(
            **{spec.employer: e.employer_id, "year": e.year},
            **{name: e[col] for name, col in spec.employer_vars.items()},
            **{name: e[name] for name in spec.employer_means},
        )
    t = spec.table
    cell_notes = notes
    if {"education_level", "education_field"} & set(spec.by.values()):
        cell_notes = (
            *notes,
            "Education unknown to the warehouse (no person-year row) counts as 999.",
        )
    return [
        OutputTable(
            t.name,
            spec.columns,
            cells,
            (spec.employer, "year", *spec.by),
            t.description,
            cell_notes,
            unit="employer-year-cell",
        ),
        OutputTable(
            f"{t.name}_employers",
            spec.employer_columns,
            employers,
            (spec.employer, "year"),
            f"Per employer and year (not per cell): {', '.join(spec.employer_vars)} and "
            f"{', '.join(spec.employer_means)}.",
            notes,
            unit="employer-year",
        ),
    ]


def _needed(
    wh: WarehouseTables,
    years: list[int],
    enterprises: ir.Table,
    employees: str,
    columns: set[str],
) -> dict[int, ir.Table]:
    education = bool(columns & {"education_level", "education_field"})
    return {
        y: employee_records(
            wh, y, enterprises, employees, education=education, age="age" in columns
        )
        for y in years
    }


def _notes(ctx: ExtractContext, pop: EmployerPopulation, nbb: NbbList) -> list[str]:
    s = nbb.summary()
    return [
        f"Employees counted: {pop.employees} ('on_31_dec' = jobs held on 31 December, the "
        "default when a deliberation does not choose; 'during_year' = every job of the year, "
        f"each counted once per employer). This deliberation: {pop.employees}.",
        "An employer-year without employees has no rows.",
        "The mean wage, FTE and age are computed from exact values, rounded to 6 decimals (so that "
        "a mean on a class boundary lands in the same class on every engine) and then given in "
        "classes (left-closed: 30000 is in 30k-<40k).",
        f"NBB list: {s['lines']} line(s), {s['enterprises_used']} enterprise(s) used, "
        f"{s['unknown_to_warehouse']} unknown to the warehouse (listed to the data provider, "
        f"no rows), groups {s['groups']}.",
    ]


def _fragment_notes(frag: Fragment) -> list[str]:
    r = frag.report
    link = r["linkage"]
    return [
        f"DEVELOPMENT FRAGMENT, SCRAMBLED: {r['fragment']['records']} employee records of "
        f"{frag.employers} employers. Within each stratum ({', '.join(r['strata'])}) about "
        f"{r['swap_rate']:.0%} of the employees were given the attributes "
        f"{', '.join(r['swap_variables'])} of another employee, as one block.",
        f"Share of employees whose attributes differ from their own: {r['share_changed']:.1%}. "
        f"Marginal distributions before and after equal: {r['marginals_equal']}. Mean loss of "
        f"association with {', '.join(r['correlation_loss_measured_against'])}: "
        f"{r['mean_correlation_loss']:.1%}. Linkage attack (nearest true record): "
        f"{link['success_rate']:.1%} correct, against {link['success_rate_unswapped']:.1%} "
        f"without scrambling. Details: {REPORT_FILE}.",
        "Cells of this fragment do not describe real employers: use them to develop syntax only. "
        "Each employer's number of employees per year is real (only the employees' attributes "
        "were moved between employers of the same year and group).",
    ]


def build(ctx: ExtractContext) -> list[OutputTable]:
    """The builder registered for population unit `employer` (see kluis.extract.context)."""
    d = ctx.deliberation
    pop = d.population
    if not isinstance(pop, EmployerPopulation):
        raise EmployerExtractError(f"deliberation {d.number} is not an employer study")
    path = ctx.inputs.get("enterprises")
    if path is None:
        raise EmployerExtractError(
            f"deliberation {d.number} takes an enterprise list from {pop.enterprises.provider}: "
            "give it with --enterprises FILE"
        )
    ctx.progress("checking the enterprise list")
    employers = pq.read_table(
        table_path(ctx.warehouse, "employers"), columns=["kbo_number", "rsz_number"]
    )
    nbb = load_nbb_list(path, employers, tuple(pop.enterprises.groups))
    if nbb.warnings:  # unknown enterprises: listed to the operator, by line
        render_nbb(nbb, Console(stderr=True))
    enterprises = ctx.engine.register(enterprise_map(nbb, ctx.key), "enterprises")
    wh = WarehouseTables(ctx.engine, ctx.warehouse)
    years = [y for y in pop.years.years if wh.has_year(y)]
    specs = [t for t in d.tables if isinstance(t, EmployerCellTable)]
    if not specs:
        raise EmployerExtractError(f"deliberation {d.number} declares no employer-year-cell table")
    groups = tuple(pop.enterprises.groups)
    resolved = [_resolve(ctx, t, groups) for t in specs]
    notes = tuple(_notes(ctx, pop, nbb))
    if ctx.phase == "development":
        phase = d.phases.development.spec
        if not isinstance(phase, ScramblePhase):
            raise EmployerExtractError(
                f"deliberation {d.number}: employer development data "
                "must be a scrambled fragment (method: scramble)"
            )
        ctx.progress("choosing and scrambling the development fragment")
        swap_cols = [_column(ctx, v) for v in phase.swap_variables]
        strata = [v if v == "year" else _column(ctx, v) for v in phase.strata]
        view = {
            col: sch
            for s in resolved
            for col, sch in (*s.cell_means.values(), *s.employer_means.values())
        }
        jobs = [listed_jobs(wh, y, enterprises, pop.employees) for y in years]
        records = [employee_records(wh, y, enterprises, pop.employees) for y in years]
        frag = scrambled_fragment(
            jobs,
            records,
            ctx.engine,
            target=phase.records,
            groups=groups,
            swap_variables=swap_cols,
            strata=strata,
            rate=phase.swap_rate,
            key=ctx.key,
            view_schemes=view,
        )
        attach(ctx, REPORT_FILE, json.dumps(frag.report, indent=2, sort_keys=True) + "\n")
        swapped = ctx.engine.register(frag.records, "fragment")
        phase_records = {y: swapped.filter(swapped.year == y) for y in years}
        notes = (*_fragment_notes(frag), *notes)
        return [
            t for spec in resolved for t in _tables(spec, phase_records, phase_records, ctx, notes)
        ]
    out: list[OutputTable] = []
    for spec in resolved:  # each query reads only the tables its columns come from
        cell_records = _needed(wh, years, enterprises, pop.employees, spec.cell_columns)
        employer_records = _needed(wh, years, enterprises, pop.employees, spec.employer_cols)
        out += _tables(spec, cell_records, employer_records, ctx, tuple(notes))
    return out


def attach(ctx: ExtractContext, name: str, text: str) -> None:
    """Hand an extra file to the publisher (listed and hashed in the manifest like the data)."""
    ctx.attachments[name] = text
