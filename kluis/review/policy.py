"""How many distinct checkers must approve each output of a request.

The number comes from the deliberation's `output_rules.checkers` (the authorisation, read from
the deliberation registry, never from anything the researcher wrote). The request records the
rules its run was checked under; the steward may ask for more in `$KLUIS_HOME/review.yaml`.
The strictest of the three counts; nothing can lower the deliberation's number.

    # $KLUIS_HOME/review.yaml (steward): more checkers than a deliberation asks for
    checkers:
      "26/104": 2
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from kluis.atomic import write_text
from kluis.enclave.request import OutputRequest
from kluis.errors import BadInput

MAX_CHECKERS = 2


class PolicyError(BadInput):
    """The steward's review policy file cannot be used."""


def policy_path() -> Path:
    from kluis.home import home

    return home() / "review.yaml"


def steward_policy(path: Path | None = None) -> dict[str, int]:
    """deliberation number -> checkers, from the steward's policy file (empty when none)."""
    path = path or policy_path()
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read the review policy: {exc}") from None
    rows = data.get("checkers", {}) if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        raise PolicyError(f"{path}: checkers: expected a mapping deliberation -> number")
    out = {}
    for number, n in rows.items():
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHECKERS:
            raise PolicyError(f"{path}: checkers.{number}: expected 1 or 2, got {n!r}")
        out[str(number)] = n
    return out


def set_steward_policy(deliberation: str, checkers: int, path: Path | None = None) -> Path:
    """Record that outputs of `deliberation` need `checkers` approvals (the steward's choice)."""
    if not 1 <= checkers <= MAX_CHECKERS:
        raise PolicyError(f"checkers: expected 1 or 2, got {checkers}")
    if not re.fullmatch(r"\d{2}/\d{3}", deliberation):
        raise PolicyError(f"deliberation {deliberation!r}: expected a number like 26/104")
    path = path or policy_path()
    rows = steward_policy(path)
    rows[deliberation] = checkers
    text = (
        "# The steward's review policy: distinct checkers per output, per deliberation.\n"
        "# It can only raise the number the deliberation's output_rules ask for.\n"
        + yaml.safe_dump({"checkers": dict(sorted(rows.items()))}, sort_keys=False)
    )
    write_text(path, text, mode=0o600)
    return path


def deliberation_checkers(number: str) -> int | None:
    """`output_rules.checkers` of the deliberation in the registry, None when it is not there."""
    from kluis.deliberation import find

    try:
        path = find(number)
        mtime = path.stat().st_mtime_ns
    except (FileNotFoundError, BadInput):
        return None
    return _checkers_in(path, mtime)  # a broken deliberation file is an error, not a default


@functools.lru_cache(maxsize=32)
def _checkers_in(path: Path, _mtime: int) -> int:
    """Read once per version of the file: every page of the review application asks."""
    from kluis.deliberation import load

    return load(path).output_rules.checkers


def _recorded(rules: dict) -> object:
    """`checkers` of the output rules the request records (nested as the enclave writes them,
    or at the top)."""
    nested = rules.get("output_rules") if isinstance(rules, dict) else None
    if isinstance(nested, dict) and "checkers" in nested:
        return nested["checkers"]
    return rules.get("checkers") if isinstance(rules, dict) else None


def required_approvals(request: OutputRequest) -> int:
    """The strictest of: the deliberation, the rules recorded in the request, the steward."""
    counts = [1]
    from_deliberation = deliberation_checkers(request.deliberation)
    if from_deliberation is not None:
        counts.append(from_deliberation)
    recorded = _recorded(request.rules)
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        counts.append(min(max(recorded, 1), MAX_CHECKERS))
    counts.append(steward_policy().get(request.deliberation, 1))
    return max(counts)
