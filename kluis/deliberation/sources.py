"""Where an authorised variable comes from: one resolver shared by validation and the extractors.

A `Variable.source` string is one of
- `<table>.<column>` — a column declared in kluis.schema;
- `derived.<name>` — a value computed from warehouse columns (catalogue `DERIVED` below);
- `pseudonym.person` / `pseudonym.employer` — the meaningless sequence number;
- `input.<column>` — a column of the input list an employer study takes (catalogue `INPUTS`).

`resolve()` turns any of them into a `ResolvedSource` (kind, table, column, type, ...) or raises
`UnknownSource` with a message saying what is known, so `check` and the extractors agree on what a
source means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kluis.errors import BadInput
from kluis.schema import table as schema_table
from kluis.schema.model import Column, ColumnType, Table

SourceKind = Literal["column", "derived", "pseudonym", "input"]
Unit = Literal["person", "employer"]

# Key columns that a unit's rows already fix; any other key column of a source table has to be
# fixed by `where`, or the source would give several values per row.
UNIT_KEYS: dict[str, frozenset[str]] = {
    "person": frozenset({"insz", "year"}),
    "employer": frozenset({"insz", "year", "rsz_number"}),
}

# Columns that identify by themselves without being declared identifiers in the schema.
INTERNAL_IDENTIFIERS: dict[str, str] = {
    "person_year.household_id": "a warehouse-internal household identifier links persons",
}

# Exact dates that identify (with sex and residence, a birth date nearly always does): only these
# schemes may be applied to them.
IDENTIFYING_DATES: dict[str, frozenset[str]] = {
    "persons.birth_date": frozenset({"year"}),
    "persons.death_date": frozenset({"year"}),
}


@dataclass(frozen=True)
class DerivedSource:
    """A value the extractor computes from warehouse columns, per unit row of year T."""

    name: str
    type: ColumnType
    description: str
    inputs: tuple[str, ...]
    units: tuple[Unit, ...] = ("person", "employer")


DERIVED: dict[str, DerivedSource] = {
    d.name: d
    for d in (
        DerivedSource(
            "age",
            "int16",
            "Age in completed years on 31 December of the year (from the birth date).",
            ("persons.birth_date",),
        ),
        DerivedSource(
            "deceased",
            "bool",
            "Died during the year: persons.death_date falls in the year. Used at T+1 it says the "
            "person died in the year after T.",
            ("persons.death_date",),
            ("person",),
        ),
        DerivedSource(
            "birth_year",
            "int16",
            "Year of birth (from the birth date).",
            ("persons.birth_date",),
        ),
    )
}

PSEUDONYMS: dict[str, tuple[str, Unit]] = {
    "person": ("Meaningless sequence number replacing the INSZ (per deliberation key).", "person"),
    "employer": (
        "Meaningless sequence number replacing the KBO enterprise number and RSZ registration "
        "number (per deliberation key).",
        "employer",
    ),
}

# Columns of the input lists an employer study may pass through (never their identifiers).
INPUTS: dict[str, tuple[ColumnType, str]] = {
    "group": ("string", "Study group given by the input list (e.g. intervention / control)."),
}


class UnknownSource(BadInput, ValueError):
    """A source string that names nothing known."""


@dataclass(frozen=True)
class ResolvedSource:
    """What a source string means. `table` is the warehouse table for column sources and the
    prefix (`derived`, `pseudonym`, `input`) otherwise."""

    kind: SourceKind
    table: str
    column: str
    type: ColumnType
    description: str
    codes: str | None = None
    identifier: str | None = None
    allowed_schemes: frozenset[str] | None = None  # None: any scheme that accepts the type
    units: tuple[Unit, ...] = ("person", "employer")
    schema_column: Column | None = None
    schema_table: Table | None = None

    @property
    def text(self) -> str:
        return f"{self.table}.{self.column}"

    def extra_keys(self, unit: Unit) -> tuple[str, ...]:
        """Key columns of the source table beyond the unit's, which `where` must fix."""
        if self.schema_table is None:
            return ()
        return tuple(k for k in self.schema_table.key if k not in UNIT_KEYS[unit])


def resolve(source: str) -> ResolvedSource:
    """Resolve a `Variable.source` string against kluis.schema and the catalogues above."""
    prefix, dot, name = source.partition(".")
    if not dot or not prefix or not name or "." in name:
        raise UnknownSource(
            f"source {source!r} is not of the form <table>.<column>, derived.<name>, "
            "pseudonym.<person|employer> or input.<column>"
        )
    if prefix == "derived":
        d = DERIVED.get(name)
        if d is None:
            raise UnknownSource(f"unknown derived source {source!r}; known: {_known(DERIVED)}")
        return ResolvedSource("derived", "derived", name, d.type, d.description, units=d.units)
    if prefix == "pseudonym":
        if name not in PSEUDONYMS:
            raise UnknownSource(f"unknown pseudonym {source!r}; known: {_known(PSEUDONYMS)}")
        description, unit = PSEUDONYMS[name]
        return ResolvedSource("pseudonym", "pseudonym", name, "int64", description, units=(unit,))
    if prefix == "input":
        if name not in INPUTS:
            raise UnknownSource(f"unknown input column {source!r}; known: {_known(INPUTS)}")
        col_type, description = INPUTS[name]
        return ResolvedSource("input", "input", name, col_type, description, units=("employer",))
    try:
        tbl = schema_table(prefix)
    except KeyError as e:
        raise UnknownSource(str(e.args[0])) from None
    try:
        col = tbl.column(name)
    except KeyError:
        raise UnknownSource(
            f"warehouse table {prefix} has no column {name!r}; known: {', '.join(tbl.column_names)}"
        ) from None
    units: tuple[Unit, ...] = (
        ("employer",) if prefix in ("employers", "employments") else ("person", "employer")
    )
    identifier = col.identifier or ("internal" if source in INTERNAL_IDENTIFIERS else None)
    return ResolvedSource(
        "column",
        prefix,
        name,
        col.type,
        col.description,
        codes=col.codes,
        identifier=identifier,
        allowed_schemes=IDENTIFYING_DATES.get(source),
        units=units,
        schema_column=col,
        schema_table=tbl,
    )


def _known(catalogue: dict) -> str:
    return ", ".join(sorted(catalogue))
