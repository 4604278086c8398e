"""Row checks that follow from the schema declaration alone: nulls, code lists, ranges, and the
`year` column agreeing with the `year=YYYY` directory it is stored in."""

from __future__ import annotations

from kluis import codes as code_lists
from kluis.schema import TABLES, Column, Table
from kluis.warehouse.checks.problems import Problem
from kluis.warehouse.checks.sql import RowCheck, literal, quote

_SHOWN_CODES = 8  # a code list this short is spelled out in the message


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _code_check(t: Table, c: Column) -> RowCheck:
    cl = code_lists.load(c.codes)
    col = quote(c.name)
    allowed = ", ".join(literal(code) for code in cl.codes)
    listed = ", ".join(cl.codes[:_SHOWN_CODES]) + (", ..." if len(cl.codes) > _SHOWN_CODES else "")
    return RowCheck(
        check="code",
        table=t.name,
        column=c.name,
        columns=(c.name,),
        bad=f"{col} IS NOT NULL AND {col} NOT IN ({allowed})",
        value=col,
        message=f"value not in code list {c.codes} ({listed}); see docs/warehouse.md",
    )


def _range_check(t: Table, c: Column) -> RowCheck:
    col = quote(c.name)
    parts = []
    if c.min is not None:
        parts.append(f"{col} < {_number(c.min)}")
    if c.max is not None:
        parts.append(f"{col} > {_number(c.max)}")
    if c.type == "float64":
        parts.append(f"isnan({col}) OR isinf({col})")
    lo = "-inf" if c.min is None else _number(c.min)
    hi = "inf" if c.max is None else _number(c.max)
    return RowCheck(
        check="range",
        table=t.name,
        column=c.name,
        columns=(c.name,),
        bad=f"{col} IS NOT NULL AND ({' OR '.join(parts)})",
        value=col,
        message=f"value outside the allowed range [{lo}, {hi}]",
    )


def _partition_check(t: Table) -> RowCheck:
    dir_year = r"TRY_CAST(regexp_extract(_file, '[/\\]year=(\d{4})[/\\][^/\\]*$', 1) AS INTEGER)"
    return RowCheck(
        check="partition_year",
        table=t.name,
        column="year",
        columns=("year",),
        bad=f"year IS NOT NULL AND year <> {dir_year}",
        value="year",
        message="the year column disagrees with the year=YYYY directory the file is stored in",
    )


def schema_row_checks() -> tuple[list[RowCheck], list[Problem]]:
    """Every null / code / range / partition check the schema declares."""
    checks: list[RowCheck] = []
    problems: list[Problem] = []
    for t in TABLES:
        for c in t.columns:
            if not c.nullable:
                checks.append(
                    RowCheck(
                        "null",
                        t.name,
                        c.name,
                        (c.name,),
                        f"{quote(c.name)} IS NULL",
                        "NULL",
                        f"{c.name} is empty (null) but declared not nullable",
                    )
                )
            if c.codes:
                try:
                    checks.append(_code_check(t, c))
                except (KeyError, ValueError) as exc:
                    problems.append(
                        Problem(
                            "check_failed",
                            "error",
                            t.name,
                            c.name,
                            f"code list {c.codes} unavailable: {exc}",
                        )
                    )
            if c.type in ("int8", "int16", "int32", "int64", "float64") and (
                c.min is not None or c.max is not None or c.type == "float64"
            ):
                checks.append(_range_check(t, c))
        if t.by_year and "year" in t.column_names:
            checks.append(_partition_check(t))
    return checks, problems
