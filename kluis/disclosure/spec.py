"""SPEC.yaml of a table to protect: dimensions, hierarchies, columns and rules.

The spec is validated by pydantic; errors are reported with the YAML line they point at, because
output checkers edit these files by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kluis.disclosure.linear import Dimension
from kluis.errors import BadInput
from kluis.yamlfile import YamlDocument, YamlFileError, parse_yaml, read_bytes


class SpecError(BadInput, ValueError):
    """A spec file that cannot be used; the message names file and line."""


class Level(BaseModel):
    """One hierarchy level above the leaves: a mapping child -> parent (inline or a code list)."""

    model_config = ConfigDict(extra="forbid")
    level: str
    map: dict[str, str] | None = None
    codelist_column: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Level:
        if (self.map is None) == (self.codelist_column is None):
            raise ValueError("give exactly one of map or codelist_column")
        return self


class DimensionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    codes: list[str] | None = None
    codelist: str | None = None
    hierarchy: list[Level] = Field(default_factory=list)
    total: bool = True


class NK(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(2, ge=1, le=2)
    k: float = Field(90.0, gt=0, le=100)


class Rules(BaseModel):
    """Primary rules and protection levels (defaults: research outputs)."""

    model_config = ConfigDict(extra="forbid")
    min_frequency: int = Field(10, ge=1)
    p_percent: float | None = Field(10.0, gt=0, le=100)
    nk: NK | None = Field(default_factory=NK)
    dominance_by: list[Literal["person", "employer"]] = Field(
        default_factory=lambda: ["person", "employer"]
    )
    group_disclosure: bool = True
    attribute_dimensions: list[str] | None = None
    zeros: Literal["safe", "unsafe"] = "safe"
    protection_ratio: float = Field(0.15, ge=0, le=1)
    protection_min: float | None = Field(None, ge=0)


class CellKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_noise: int = Field(2, ge=1, le=10)
    seed: str = "kluis"


class TableSpec(BaseModel):
    """The whole SPEC.yaml."""

    model_config = ConfigDict(extra="forbid")
    name: str = "table"
    # what the population is called and how it was selected, recorded for people to read: the
    # release history links tables by the persons they cover, never by these texts
    population: str = "all"
    population_filter: str | None = None
    dimensions: list[DimensionSpec] = Field(min_length=1, max_length=6)
    person_id: str | None = None
    employer_id: str | None = None
    response: str | None = None
    weight: str | None = None
    count_column: str | None = None
    statistic: Literal["count", "sum", "mean", "min", "max", "quantile"] = "count"
    quantile: float = Field(0.5, gt=0, lt=1)
    rules: Rules = Field(default_factory=Rules)
    method: Literal["suppress", "round", "cellkey"] = "suppress"
    round_base: int = Field(5, ge=2)
    cellkey: CellKey = Field(default_factory=CellKey)

    @model_validator(mode="after")
    def _coherent(self) -> TableSpec:
        if self.person_id is None and self.count_column is None:
            raise ValueError("give person_id (microdata) or count_column (aggregated input)")
        if self.statistic != "count" and self.response is None:
            raise ValueError(f"statistic {self.statistic} needs a response column")
        if self.count_column is not None and self.statistic != "count":
            raise ValueError(
                "aggregated input (count_column) supports statistic count only: the dominance "
                "rules need each contributor's value, so magnitude tables need microdata"
            )
        if self.method != "suppress" and self.statistic != "count":
            raise ValueError(
                f"method {self.method} applies to counts; magnitude and order statistics are "
                "protected by suppression"
            )
        names = [d.column for d in self.dimensions]
        if len(set(names)) != len(names):
            raise ValueError(f"dimension columns repeat: {names}")
        for a in self.rules.attribute_dimensions or []:
            if a not in names:
                raise ValueError(f"attribute dimension {a!r} is not a dimension")
        return self

    @property
    def magnitude(self) -> bool:
        """True when cells carry a response total (sum/mean), not only a count."""
        return self.response is not None and self.statistic in ("sum", "mean")

    def protection_min(self) -> float:
        r = self.rules
        return float(r.min_frequency if r.protection_min is None else r.protection_min)


def build_dimension(d: DimensionSpec, observed: list[str] | None = None) -> Dimension:
    """The linear Dimension of a spec entry; leaf codes from the spec, a code list or the data."""
    cl = None
    if d.codelist is not None:
        from kluis import codes as codelists

        cl = codelists.load(d.codelist)
    if d.codes is not None:
        leaves = list(d.codes)
    elif cl is not None:
        leaves = list(cl.codes)
    elif observed is not None:
        leaves = sorted(set(observed))
    else:
        raise SpecError(f"dimension {d.column}: no codes given and no data to take them from")
    levels = []
    below = leaves
    for lv in d.hierarchy:
        if lv.map is not None:
            mapping = dict(lv.map)
        else:
            if cl is None:
                raise SpecError(f"dimension {d.column}: codelist_column needs a codelist")
            mapping = cl.mapping(lv.codelist_column) if len(levels) == 0 else {}
            if len(levels) > 0:
                raise SpecError(f"dimension {d.column}: codelist_column only on the first level")
        missing = [c for c in below if c not in mapping]
        if missing:
            raise SpecError(
                f"dimension {d.column}: level {lv.level} has no parent for codes {missing[:5]}"
            )
        levels.append((lv.level, tuple((c, mapping[c]) for c in below)))
        below = list(dict.fromkeys(mapping[c] for c in below))
    return Dimension(name=d.column, codes=tuple(leaves), levels=tuple(levels), total=d.total)


def parse_spec(text: str | bytes, source: str = "<spec>") -> TableSpec:
    """Validate spec text; SpecError names the source and line of each problem. Read through
    kluis.yamlfile: size, encoding, alias and nesting limits, duplicate keys refused."""
    try:
        doc = parse_yaml(text, source, what="the spec")
    except YamlFileError as e:
        raise SpecError(str(e)) from None
    return spec_from_document(doc)


def spec_from_document(doc: YamlDocument) -> TableSpec:
    """The spec a checked YAML document holds; a model error is reported at its line."""
    try:
        return TableSpec.model_validate(doc.data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = doc.line(loc) or 1
            field = ".".join(str(x) for x in loc) or "(top)"
            lines.append(f"{doc.source}:{line}: {field}: {err['msg']}")
        raise SpecError("\n".join(lines)) from None


def load_spec(path: str | Path) -> TableSpec:
    """Read and validate a SPEC.yaml file (at most kluis.yamlfile.LIMITS.max_bytes)."""
    try:
        data = read_bytes(path)
    except YamlFileError as e:
        raise SpecError(str(e)) from None
    return parse_spec(data, str(path))
