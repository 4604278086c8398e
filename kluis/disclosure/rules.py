"""Which rules a table is checked with: the deliberation's, made stricter by the spec if at all.

The rules come from the deliberation (its `output_rules`), never from the person being checked:
a spec or an API call may tighten them (a higher threshold, a wider protection interval) but
any value that would let more through is refused, naming the spec's file and line. Without a
deliberation the same holds against the default output rules, and the caller says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kluis.disclosure.spec import NK, Rules, SpecError, TableSpec
from kluis.errors import BadInput


class WeakerRules(SpecError):
    """A spec that asks for rules weaker than the deliberation's."""


@dataclass(frozen=True)
class Baseline:
    """The rules a table must at least be checked with, and where they come from."""

    rules: Rules
    source: str  # "deliberation 26/104" or "the default output rules"
    deliberation: str | None = None  # the deliberation's slug, when there is one


def rules_from_deliberation(output_rules: Any) -> Rules:
    """The deliberation's `OutputRules` as the disclosure rules they mean: minimum cell size,
    p% and (n,k) dominance (per person and per employer), group disclosure, and the relative
    protection interval (never below the minimum cell size)."""
    dom = output_rules.dominance
    if not 1 <= dom.n <= 2:
        raise BadInput(
            f"output_rules.dominance.n = {dom.n}: kluis evaluates the (n,k) rule for n = 1 or 2 "
            "(it keeps the two largest contributors of every cell)"
        )
    return Rules(
        min_frequency=output_rules.min_cell,
        p_percent=dom.p,
        nk=NK(n=dom.n, k=dom.k),
        protection_ratio=output_rules.protection,
    )


def baseline(deliberation: Any = None) -> Baseline:
    """The rules in force: from a deliberation (a `Deliberation`, its `OutputRules`, or the path
    of its file), or the default output rules when there is none."""
    if deliberation is None:
        from kluis.deliberation.model import OutputRules

        return Baseline(rules_from_deliberation(OutputRules()), "the default output rules")
    if isinstance(deliberation, str | Path):
        from kluis.deliberation import load

        deliberation = load(deliberation)
    if hasattr(deliberation, "output_rules"):
        return Baseline(
            rules_from_deliberation(deliberation.output_rules),
            f"deliberation {deliberation.number}",
            deliberation.slug,
        )
    return Baseline(rules_from_deliberation(deliberation), "the deliberation's output rules")


def describe(r: Rules) -> str:
    """The rules in one line, for the command's output and the report."""
    parts = [f"minimum {r.min_frequency} persons per cell"]
    if r.p_percent is not None:
        parts.append(f"p% rule p={r.p_percent:g}")
    if r.nk is not None:
        parts.append(f"({r.nk.n},{r.nk.k:g}) dominance")
    parts.append(f"dominance by {' and '.join(r.dominance_by)}")
    parts.append(
        f"protection {r.protection_ratio:g} (at least {r.protection_min or r.min_frequency:g})"
    )
    if r.group_disclosure:
        parts.append("group disclosure")
    return ", ".join(parts)


def _weaker(field: str, mine: Any, base: Rules, dims: list[str]) -> str | None:
    """Why the spec's value of `field` lets more through than `base`, or None."""
    if field == "min_frequency" and mine < base.min_frequency:
        return f"{mine} is below the minimum of {base.min_frequency}"
    if field == "p_percent" and base.p_percent is not None:
        if mine is None:
            return f"switches off the p% rule (p={base.p_percent:g} applies)"
        if mine < base.p_percent:
            return f"p={mine:g} is below p={base.p_percent:g}"
    if field == "nk" and base.nk is not None:
        if mine is None:
            return f"switches off the ({base.nk.n},{base.nk.k:g}) dominance rule"
        if mine.n < base.nk.n or mine.k > base.nk.k:
            return f"({mine.n},{mine.k:g}) is weaker than ({base.nk.n},{base.nk.k:g})"
    if field == "dominance_by":
        missing = [x for x in base.dominance_by if x not in mine]
        if missing:
            return f"drops dominance by {', '.join(missing)}"
    if field == "group_disclosure" and base.group_disclosure and not mine:
        return "switches off the group disclosure rule"
    if field == "attribute_dimensions" and mine is not None:
        wanted = base.attribute_dimensions or dims
        left_out = [d for d in wanted if d not in mine]
        if left_out:
            return f"leaves {left_out} out of the group disclosure rule"
    if field == "zeros" and base.zeros == "unsafe" and mine == "safe":
        return "publishes zero cells the rules hide"
    if field == "protection_ratio" and mine < base.protection_ratio:
        return f"{mine:g} is below the protection of {base.protection_ratio:g}"
    return None


def apply_rules(
    spec: TableSpec,
    base: Baseline,
    source: str = "the spec",
    line_of: Callable[[tuple[str, ...]], int | None] | None = None,
) -> TableSpec:
    """The spec with the baseline's rules, tightened where the spec asks for stricter ones.

    Raises WeakerRules listing every field of the spec that would be weaker, each with the
    spec's file and line when `line_of` knows it."""
    given = spec.rules.model_fields_set if "rules" in spec.model_fields_set else set()
    dims = [d.column for d in spec.dimensions]
    merged = base.rules.model_dump()
    problems = []
    for field in sorted(given):
        mine = getattr(spec.rules, field)
        why = _weaker(field, mine, base.rules, dims)
        if why is None:
            merged[field] = mine.model_dump() if hasattr(mine, "model_dump") else mine
            continue
        line = line_of(("rules", field)) if line_of else None
        where = f"{source}:{line}" if line else source
        problems.append(
            f"{where}: rules.{field}: {why} set by {base.source} "
            "(a spec may only make the rules stricter)"
        )
    rules = Rules.model_validate(merged)
    floor = base.rules.protection_min or base.rules.min_frequency
    if float(rules.protection_min or rules.min_frequency) < floor:
        line = line_of(("rules", "protection_min")) if line_of else None
        where = f"{source}:{line}" if line else source
        problems.append(
            f"{where}: rules.protection_min: {rules.protection_min:g} is below the protection "
            f"of {floor:g} persons set by {base.source} (a spec may only make the rules stricter)"
        )
    if problems:
        raise WeakerRules("\n".join(problems))
    return spec.model_copy(update={"rules": rules})
