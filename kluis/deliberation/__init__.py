"""kluis.deliberation: the authorisation as a file the program enforces.

Public API:
- `load(path) -> Deliberation` (checked; raises DeliberationError), `parse`, `problems` —
  kluis.deliberation.load
- `load_registry(dir)` (alias `load_dir`), `find`, `register` — the
  configured registry of deliberations, kluis.deliberation.registry
- `validate(deliberation, lines, file) -> list[Problem]` — kluis.deliberation.validate
- `CATALOGUE`, `scheme(name)`, `Scheme` — the coarsening schemes (kluis.deliberation.coarsening)
- `resolve(source) -> ResolvedSource`, `DERIVED` — variable sources (kluis.deliberation.sources)
- `check_in_force(d, today, registry)`, `status`, `check_within_retention`, `retention_date`,
  `destruction_due` — dates (kluis.deliberation.dates)
"""

from kluis.deliberation.coarsening import CATALOGUE, Scheme, scheme
from kluis.deliberation.dates import (
    Status,
    check_in_force,
    check_within_retention,
    destruction_due,
    retention_date,
    status,
)
from kluis.deliberation.errors import DeliberationError, NotInForce, Problem
from kluis.deliberation.load import load, parse, problems
from kluis.deliberation.model import Deliberation
from kluis.deliberation.registry import (
    RegistryError,
    find,
    load_dir,
    load_registry,
    register,
    registry_dir,
)
from kluis.deliberation.sources import DERIVED, ResolvedSource, UnknownSource, resolve
from kluis.deliberation.validate import validate

__all__ = [
    "CATALOGUE",
    "DERIVED",
    "Deliberation",
    "DeliberationError",
    "NotInForce",
    "Problem",
    "RegistryError",
    "ResolvedSource",
    "Scheme",
    "Status",
    "UnknownSource",
    "check_in_force",
    "check_within_retention",
    "destruction_due",
    "find",
    "load",
    "load_dir",
    "load_registry",
    "parse",
    "problems",
    "register",
    "registry_dir",
    "resolve",
    "retention_date",
    "scheme",
    "status",
    "validate",
]
