"""Protecting a new table against what already left: hide what the release history makes
revealing, rather than only refuse.

The linked audit (linked.py) says, for each hidden cell of any release it can narrow and each
small difference between populations it can pin, which cells of the new table hold some of
those persons. Those cells are hidden in the new table and protected there like unsafe cells
(secondary suppression keeps them from being recomputed from its margins), and the audit runs
again, a few rounds at most. Whatever is still revealing after that is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from kluis.disclosure.protect import Protected, reprotect

#: audit-and-hide rounds before a table is refused
ROUNDS = 4
REASON = "with earlier releases it would reveal persons they hide"


def protect_against_history(
    pt: Protected, audit: Callable[..., list[dict]], rounds: int = ROUNDS
) -> Protected:
    """`pt` with the cells hidden that earlier releases make revealing; its `history_findings`
    hold what the last audit still found (errors make it not releasable). `audit` is
    `History(...).audit`: each round hides more than the last, so it reuses what the previous
    round certified."""
    memo: dict = {}
    findings = audit(pt, memo)
    for _ in range(rounds):
        extra: dict[int, float] = {}
        for f in findings:
            if f["severity"] != "error":
                continue
            for cell in f.get("hide", []):
                extra[cell] = max(extra.get(cell, 0.0), f.get("need", 0.0))
        if not extra:
            break
        pt = reprotect(pt, extra, REASON)
        findings = audit(pt, memo)
    pt.history_findings = findings
    return pt
