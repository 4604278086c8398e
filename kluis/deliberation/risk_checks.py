"""Checks of a deliberation's `risk:` section (the settings of `kluis risk`) against the
deliberation's own variables, reported like every other problem: FILE:LINE: field: message."""

from __future__ import annotations

from typing import Any

_NUMERIC = ("int8", "int16", "int32", "int64", "float64")


def check_risk(checker: Any) -> None:
    """Add the problems of `checker.d.risk` to the checker (validate._Checker)."""
    r = checker.d.risk
    if r is None:
        return
    base = ("risk",)
    released = checker.raw_output
    checker.duplicates(list(r.keys), (*base, "keys"), "variable")
    for j, name in enumerate(r.keys):
        if checker.known((*base, "keys", j), name) and name not in released:
            checker.err(
                (*base, "keys", j),
                f"key {name!r} is in no output table, so no extract holds it",
            )
    roles = {
        "person": r.person,
        "household": r.household,
        "weight": r.weight,
        "sensitive": r.sensitive,
    }
    for role, name in roles.items():
        if name is None or not checker.known((*base, role), name):
            continue
        if name in r.keys:
            checker.err((*base, role), f"{name!r} is a key variable; it cannot also be the {role}")
            continue
        src = checker.resolved.get(name)
        if src is None:
            continue
        if role == "person" and src.text != "pseudonym.person":
            checker.err(
                (*base, role),
                f"{name!r} must be the person sequence number (source pseudonym.person), "
                f"not {src.text}",
            )
        if role == "weight" and src.type not in _NUMERIC:
            checker.err((*base, role), f"weight {name!r} ({src.text}) is not a number")
    for name, value in r.importance.items():
        if name not in r.keys:
            checker.err((*base, "importance", name), f"{name!r} is not one of risk.keys")
        elif not value > 0:
            checker.err((*base, "importance", name), f"importance must be > 0 (got {value})")
