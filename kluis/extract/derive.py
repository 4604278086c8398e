"""Ibis implementations of the derived sources catalogued in kluis.deliberation.sources.DERIVED.

Each takes the `persons` columns of a row and the reference year Y (situation on 31 December Y),
a number or the row's year column, and returns the value. A derived source without an
implementation here is an error at extraction time (and a failing unit test), never a silently
empty column.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

Year = int | ir.IntegerValue
# name -> f(persons columns, year) ; persons columns are accessed by their schema names
Derivation = Callable[[ir.Table, Year], ir.Value]


def _year(year: Year) -> ir.IntegerValue:
    return ibis.literal(year, "int16") if isinstance(year, int) else year.cast("int16")


def _age(p: ir.Table, year: Year) -> ir.Value:
    # on 31 December everybody has had their birthday of the year
    return (_year(year) - p.birth_date.year()).cast("int16")


def _deceased(p: ir.Table, year: Year) -> ir.Value:
    return p.death_date.notnull() & (p.death_date.year() == year).fill_null(False)


def _birth_year(p: ir.Table, year: Year) -> ir.Value:
    return p.birth_date.year().cast("int16")


DERIVATIONS: dict[str, Derivation] = {
    "age": _age,
    "deceased": _deceased,
    "birth_year": _birth_year,
}

# persons columns each derivation reads (to select only what is needed)
INPUTS: dict[str, tuple[str, ...]] = {
    "age": ("birth_date",),
    "deceased": ("death_date",),
    "birth_year": ("birth_date",),
}


def derive(name: str, persons: ir.Table, year: Year) -> ir.Value:
    try:
        fn = DERIVATIONS[name]
    except KeyError:
        raise KeyError(f"derived source derived.{name} has no implementation") from None
    return fn(persons, year)
