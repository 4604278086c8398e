"""Whether a deliberation may be used on a given day.

A deliberation authorises extraction only from the day it takes effect, until another deliberation
that ends it takes effect (seed 26/104, point 20: "Op de datum van inwerkingtreding van deze
beraadslaging houdt de beraadslaging nr. 24/130 ... op uitwerking te hebben"), and never after its
retention date, by which the data must have been destroyed. `today` is always passed in, so tests
and audits can ask about any day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from kluis.deliberation.errors import NotInForce
from kluis.deliberation.model import Deliberation
from kluis.deliberation.registry import load_registry

State = Literal["not_yet_in_effect", "in_force", "ended", "retention_passed"]

Registry = Mapping[str, Deliberation] | Iterable[Deliberation]


@dataclass(frozen=True)
class Status:
    """The state of a deliberation on a day, with the reason in words."""

    state: State
    reason: str
    ended_by: str | None = None

    @property
    def in_force(self) -> bool:
        return self.state == "in_force"


def _deliberations(registry: Registry | None) -> list[Deliberation]:
    if registry is None:  # the configured registry; refuses when it cannot be read
        return list(load_registry().values())
    if isinstance(registry, Mapping):
        return list(registry.values())
    return list(registry)


def ended_by(
    d: Deliberation, today: dt.date, registry: Registry | None = None
) -> Deliberation | None:
    """The deliberation in force by `today` that ends `d`, if any (the earliest to take effect)."""
    enders = [
        other
        for other in _deliberations(registry)
        if other.number != d.number and d.number in other.ends and other.effective <= today
    ]
    return min(enders, key=lambda o: (o.effective, o.number), default=None)


def retention_date(
    d: Deliberation, registry: Registry | None = None
) -> tuple[dt.date, Deliberation | None]:
    """The last day `d`'s data may exist, and the deliberation that extended it there (None:
    `d`'s own date). Only a deliberation that lists `d` in `extends` and takes effect on or
    before the date then current can extend it: one decided after the data had to be destroyed
    comes too late. Later extensions of the extended date are followed."""
    others = [o for o in _deliberations(registry) if o.number != d.number and d.number in o.extends]
    current, by = d.retention, None
    changed = True
    while changed:
        changed = False
        for o in sorted(others, key=lambda o: (o.effective, o.number)):
            if o.effective <= current < o.retention:
                current, by, changed = o.retention, o, True
    return current, by


def destruction_due(
    d: Deliberation, today: dt.date, registry: Registry | None = None
) -> str | None:
    """Why `d`'s pseudonymised data must be destroyed on `today`, or None while it may be kept:
    from its retention date (as extended), or from the day a deliberation ending it takes
    effect, unless another extends it."""
    retention, by = retention_date(d, registry)
    if today >= retention:
        extended = f" (extended by {by.number})" if by is not None else ""
        return f"its retention date {retention}{extended} has come (today is {today})"
    ender = ended_by(d, today, registry)
    if ender is not None and by is None:
        return f"it was ended by deliberation {ender.number} on {ender.effective}"
    return None


def check_within_retention(
    d: Deliberation, today: dt.date, registry: Registry | None = None
) -> dt.date:
    """Refuse (NotInForce) when `d`'s data must be destroyed by `today` (past its retention
    date, or ended by another deliberation); returns the retention date. For commands that use
    existing pseudonymised data of `d`, e.g. `kluis enclave run`."""
    reason = destruction_due(d, today, registry)
    if reason is not None:
        raise NotInForce(d.number, f"{reason}: its data must be destroyed, not used")
    return retention_date(d, registry)[0]


def status(d: Deliberation, today: dt.date, registry: Registry | None = None) -> Status:
    """The state of `d` on `today`. `registry` holds the other deliberations (default: the
    configured registry, kluis.deliberation.registry)."""
    if today < d.effective:
        return Status("not_yet_in_effect", f"it takes effect on {d.effective} (today is {today})")
    retention, extended_by = retention_date(d, registry)
    if today > retention:
        return Status(
            "retention_passed",
            f"its retention date {retention} has passed (today is {today}): the data must have "
            "been destroyed; only a new deliberation can extend it",
        )
    ender = ended_by(d, today, registry)
    if ender is not None:
        return Status(
            "ended",
            f"it was ended by deliberation {ender.number}, in effect since {ender.effective}",
            ended_by=ender.number,
        )
    extended = f" (extended by {extended_by.number})" if extended_by is not None else ""
    return Status(
        "in_force",
        f"in force since {d.effective}; data to be destroyed by {retention}{extended}",
    )


def check_in_force(d: Deliberation, today: dt.date, registry: Registry | None = None) -> Status:
    """Refuse (NotInForce) unless `d` is in force on `today`; extraction calls this first."""
    s = status(d, today, registry)
    if not s.in_force:
        raise NotInForce(d.number, s.reason)
    return s
