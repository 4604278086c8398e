"""Global recoding: a key variable released in coarser classes, taken from the deliberation's
coarsening catalogue, never finer than the deliberation allows.

The extract holds each variable coarsened as its deliberation says (`Variable.coarsening`). A
recode replaces those values by the classes of a *coarser* catalogued scheme; which schemes are
coarser is derived, not listed:
- classes -> classes: every break of the target is a break of the source and the target covers
  the source's range (age_5y -> age_10y); each source class falls inside one target class;
- a code as is -> a grouping of its code list (province -> province_region, sep_code ->
  sep_group);
- a grouping -> another grouping of the same code list, when every source group lies inside one
  target group (country_group -> country_eu);
- year_month -> year.
Anything else (finer classes, another code list, deciles) is refused. A value in the table that
is not a class of the source scheme is refused too: the table was not coarsened as the
deliberation says.
"""

from __future__ import annotations

from dataclasses import dataclass

from kluis.deliberation.coarsening import CATALOGUE, Scheme
from kluis.deliberation.model import Deliberation
from kluis.deliberation.sources import UnknownSource, resolve
from kluis.errors import BadInput
from kluis.risk.sql import ident, literal


class RecodeError(BadInput):
    """A recode the deliberation's catalogue does not allow."""


@dataclass(frozen=True)
class Recode:
    """Release `variable` in `target` classes instead of the deliberation's `source` scheme."""

    variable: str
    source: str
    target: str
    mapping: tuple[tuple[str, str], ...] = ()  # released value -> coarser value (as text)
    year_of_month: bool = False

    def sql(self, column_sql: str) -> str:
        """The recoded value of a column (NULL stays NULL)."""
        if self.year_of_month:
            return f"CAST(substr(CAST({column_sql} AS VARCHAR), 1, 4) AS SMALLINT)"
        cases = " ".join(f"WHEN {literal(a)} THEN {literal(b)}" for a, b in self.mapping)
        return f"(CASE CAST({column_sql} AS VARCHAR) {cases} END)"

    def known_values(self) -> list[str]:
        return [a for a, _ in self.mapping]

    def as_json(self) -> dict:
        return {"from": self.source, "to": self.target}


def _class_mapping(src: Scheme, tgt: Scheme) -> tuple[tuple[str, str], ...] | None:
    if not set(tgt.breaks) <= set(src.breaks) or tgt.breaks[0] != src.breaks[0]:
        return None
    if tgt.upper is not None and (src.upper is None or src.upper > tgt.upper):
        return None
    out = []
    for i, low in enumerate(src.breaks):
        j = max(t for t, b in enumerate(tgt.breaks) if b <= low)
        out.append((src.labels[i], tgt.labels[j]))
    return tuple(out)


def _group_mapping(codes: str, src_column: str | None, tgt_column: str):
    from kluis.codes import load as load_codes

    rows = load_codes(codes).rows
    out: dict[str, str] = {}
    for row in rows:
        key = row["code"] if src_column is None else row[src_column]
        if out.setdefault(key, row[tgt_column]) != row[tgt_column]:
            return None  # a source class split over two target classes: not coarser
    return tuple(out.items())


def coarser(d: Deliberation, variable: str) -> dict[str, Recode]:
    """Every catalogued scheme `variable` may be recoded to, with its mapping."""
    try:
        v = d.variable(variable)
    except KeyError:
        raise RecodeError(
            f"{variable!r} is not a variable of deliberation {d.number}: cannot recode it"
        ) from None
    try:
        col = resolve(v.source)
    except UnknownSource as e:
        raise RecodeError(str(e)) from None
    src = CATALOGUE[v.coarsening]
    out: dict[str, Recode] = {}
    for name, tgt in CATALOGUE.items():
        if name == src.name or not tgt.accepts_type(col.type) and tgt.kind != "year":
            continue
        mapping = None
        if src.kind == "classes" and tgt.kind == "classes" and tgt.accepts_type(col.type):
            mapping = _class_mapping(src, tgt)
        elif src.kind == "identity" and tgt.kind == "map" and col.codes == tgt.codes:
            mapping = _group_mapping(tgt.codes, None, tgt.group_column)  # type: ignore[arg-type]
        elif src.kind == "map" and tgt.kind == "map" and src.codes == tgt.codes:
            mapping = _group_mapping(tgt.codes, src.group_column, tgt.group_column)  # type: ignore[arg-type]
        elif src.kind == "year_month" and tgt.kind == "year":
            out[name] = Recode(variable, src.name, name, year_of_month=True)
            continue
        if mapping:
            out[name] = Recode(variable, src.name, name, mapping)
    return out


def plan(d: Deliberation, requested: dict[str, str]) -> list[Recode]:
    """The recodes asked for (variable -> target scheme), each checked against the catalogue."""
    out = []
    for variable, target in requested.items():
        options = coarser(d, variable)
        if target not in options:
            scheme = d.variable(variable).coarsening
            allowed = ", ".join(sorted(options)) or "none in the catalogue"
            if target not in CATALOGUE:
                why = f"{target!r} is not a scheme of the coarsening catalogue"
            else:
                why = f"{target!r} is not coarser than the deliberation's {scheme!r}"
            raise RecodeError(f"recode {variable}={target}: {why}; coarser schemes: {allowed}")
        out.append(options[target])
    return out


def parse(text: str | None) -> dict[str, str]:
    """'age=age_10y,province=province_region' -> {'age': 'age_10y', ...}."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, target = part.partition("=")
        if not eq or not name.strip() or not target.strip():
            raise RecodeError(f"--recode {part!r}: expected VARIABLE=SCHEME")
        if name.strip() in out:
            raise RecodeError(f"--recode names {name.strip()!r} twice")
        out[name.strip()] = target.strip()
    return out


def recoded_view(
    con, view: str, out: str, recodes: list[Recode], path: str, columns: dict[str, str]
) -> None:
    """A view `out` over `view` with the recoded columns; refuses values outside the source
    scheme's classes."""
    import duckdb

    for r in recodes:
        if r.variable not in columns:
            raise RecodeError(f"{path}: no column {r.variable!r} to recode")
        if r.year_of_month:
            bad_sql = (
                f"SELECT {ident(r.variable)} FROM {view} WHERE {ident(r.variable)} IS NOT NULL "
                f"AND NOT regexp_full_match(CAST({ident(r.variable)} AS VARCHAR), "
                r"'\d{4}-\d{2}') LIMIT 1"
            )
        else:
            known = ", ".join(literal(v) for v in r.known_values())
            bad_sql = (
                f"SELECT {ident(r.variable)} FROM {view} WHERE {ident(r.variable)} IS NOT NULL "
                f"AND CAST({ident(r.variable)} AS VARCHAR) NOT IN ({known}) LIMIT 1"
            )
        try:
            bad = con.execute(bad_sql).fetchall()
        except duckdb.Error as e:
            raise RecodeError(f"{path}: {str(e).splitlines()[0]}") from None
        if bad:
            raise RecodeError(
                f"{path}: column {r.variable!r} holds {bad[0][0]!r}, which is not a class of "
                f"{r.source!r} (the deliberation's coarsening): cannot recode to {r.target!r}"
            )
    replace = ", ".join(f"{r.sql(ident(r.variable))} AS {ident(r.variable)}" for r in recodes)
    select = f"SELECT * REPLACE ({replace}) FROM {view}" if recodes else f"SELECT * FROM {view}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {out} AS {select}")
