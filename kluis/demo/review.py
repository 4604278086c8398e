"""Demo stage after the enclave: two output checkers review the example projects' requests,
and one signed bundle per project leaves and is verified.

The checkers decide through `kluis.review.decide`, the function the web application calls, so
the demo and a checker's clicks follow one code path. The deliberations ask for one checker
(their seeds name one KSZ employee); to show the four-eyes path too, the demo's steward asks
for two on 26/104 with `kluis review policy` (it can only raise the deliberation's number),
while 24/074 keeps one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rich.table import Table
from rich.text import Text

from kluis.demo.context import Demo


def _demo_checkers() -> dict[str, str]:
    """The demo's checkers (name -> password), as the demo's setup stage made them."""
    from kluis.demo.audit import DEMO_USERS

    return {n: p for n, (role, p) in DEMO_USERS.items() if role == "checker"}


CHECKERS = _demo_checkers()
FOUR_EYES = "26/104"
#: flags a checker rejects for (small counts, one person's value, listings, identifiers); a
#: figure's "read every number in it" is read, and approved, by the demo checker
_SERIOUS = re.compile(
    r"below|minimum or maximum|listing|identifier", re.I
)  # the deliberation the demo reviews with two checkers


def _users() -> list:
    """The two demo checkers (made by the demo's setup stage; here when it did not run)."""
    from kluis.access import Users

    users = Users()
    out = []
    for name, password in CHECKERS.items():
        user = users.get(name)
        if user is None:
            user = users.add(name, "checker", password)
        out.append(user)
    return out


def _release_key(demo: Demo) -> None:
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import PRIVATE

    if not (KeyStore().root / PRIVATE).exists():
        demo.kluis("Create the steward's release key", ["keys", "release-key"])


def verdict(st) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """What the demo checker decides, and why: a checker rejects what the enclave flagged."""
    o = st.output
    if st.problems:
        return "reject", "files changed since the run: " + "; ".join(st.problems)
    errors = [f for f in o.findings if f.get("severity") == "error"]
    if errors:
        return "reject", f"history audit: {errors[0].get('detail', errors[0])}"
    serious = [f for f in o.flagged if _SERIOUS.search(str(f.get("reason", "")))]
    if serious:
        return (
            "reject",
            f"{len(serious)} number(s) flagged: {serious[0].get('reason')} "
            f"({serious[0].get('table', '')}, value {serious[0].get('value', '')})",
        )
    return "approve", f"demo: checked ({o.status})"


def _latest_full(requests_dir: Path) -> list:
    """The newest full-population request of each project."""
    from kluis.review.store import ReviewRequest, find_requests

    chosen: dict[tuple[str, str], ReviewRequest] = {}
    for r in find_requests(requests_dir):  # newest first
        if isinstance(r, ReviewRequest) and r.request.phase == "full":
            chosen.setdefault((r.request.deliberation, r.request.project), r)
    return list(chosen.values())


def _review(demo: Demo, rr, checkers: list) -> Table:  # type: ignore[no-untyped-def]
    from kluis.review import decide, open_request

    table = Table("output", "kind", "enclave", "decisions", "state", title=rr.id)
    for name, st in rr.states.items():
        if st.state in ("waiting", "partly approved"):
            what, comment = verdict(st)
            for checker in checkers[: st.needed if what == "approve" else 1]:
                if checker.name not in st.approvers:
                    decide(rr.path, name, checker, what, comment)
    rr = open_request(rr.path)
    for name, st in rr.states.items():
        decided = "; ".join(f"{d.checker} {d.verdict}" for d in st.decisions) or "-"
        table.add_row(
            *(Text(x) for x in (name, st.output.kind, st.output.status, decided, st.state))
        )
    return table


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "project"


def run(demo: Demo) -> list[str]:
    requests = demo.out / "requests"
    demo.console.rule("[bold]Output checking: review and signed release")
    found = _latest_full(requests) if requests.is_dir() else []
    if not found:
        demo.console.print(
            f"no full-population output requests under {requests}: nothing to review"
        )
        return [f"{requests}: no output requests to review"]
    checkers = _users()
    _release_key(demo)
    demo.kluis(
        f"Steward: outputs of {FOUR_EYES} need two checkers in this demo",
        ["review", "policy", FOUR_EYES, "--checkers", "2"],
    )
    releases = demo.out / "releases"
    where = []
    for rr in sorted(found, key=lambda r: r.request.deliberation):
        from kluis.review import open_request

        demo.console.print(_review(demo, open_request(rr.path), checkers))
        bundle = releases / _slug(f"{rr.request.deliberation}-{rr.request.project}")
        if bundle.exists():  # an earlier demo run's bundle: kluis never overwrites one
            shutil.rmtree(bundle)
        demo.kluis(f"Release {rr.request.project}", ["release", str(rr.path), "--out", str(bundle)])
        demo.kluis(f"Verify {bundle.name}", ["release", "verify", str(bundle)])
        where.append(
            f"{bundle}/: signed release of {rr.request.project} ({rr.request.deliberation})"
        )
    logins = ", ".join(f"{n} / {p}" for n, p in CHECKERS.items())
    demo.console.print(
        f"Open the review application: kluis review serve --requests {requests}\n"
        f"  then http://127.0.0.1:8000/ and sign in as a checker ({logins})"
    )
    return [
        *where,
        f"kluis review serve --requests {requests}: the checkers' web application "
        f"(http://127.0.0.1:8000/; {logins})",
    ]
