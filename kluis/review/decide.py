"""Approve or reject one output: the one function the web application and the demo call.

Every rule of the review is checked here, under the request's lock, so no caller can skip one:
only a checker decides; nobody who ran the project or is among its researchers approves it; a
checker approves an output once; a rejection needs a comment; an output the enclave refused, or
whose files changed since the run, or that the history audit found disclosive, is never
approved; nothing is decided after it was rejected or released. The decision is written to the
audit log first and then to `decisions.jsonl` naming that audit record.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from kluis.access import PERMISSIONS, User
from kluis.atomic import locked
from kluis.enclave.request import load_request
from kluis.errors import BadInput, NotPermitted, Refused
from kluis.review import trail
from kluis.review.decisions import VERDICTS, Decision, append_record, decisions_path
from kluis.review.store import OutputState, ReviewRequest, open_request

MAX_COMMENT = 4000


class DecisionRefused(Refused):
    """The decision breaks a rule of the review."""


def _check_user(user: User, rr: ReviewRequest, verdict: str) -> None:
    if user.role not in PERMISSIONS["review.decide"]:
        raise NotPermitted(
            f"not permitted: {user.name} ({user.role}) may not decide on outputs; only a checker"
        )
    if verdict == "approve" and rr.involves(user):
        raise NotPermitted(
            f"not permitted: {user.name} ran project {rr.request.project!r} or is one of its "
            "researchers and may not approve its outputs"
        )


def _check_output(user: User, rr: ReviewRequest, st: OutputState, verdict: str) -> None:
    name = st.output.name
    if st.state == "refused":
        raise DecisionRefused(
            f"{name}: the enclave refused this output ({st.output.reason or 'no reason given'}); "
            "it can never leave"
        )
    if st.state == "released":
        raise DecisionRefused(f"{name}: already released")
    if st.state == "rejected":
        who = ", ".join(d.checker for d in st.rejections)
        raise DecisionRefused(f"{name}: already rejected by {who}")
    if verdict == "reject":
        return
    if rr.problems:  # first: nothing else this request says can be trusted
        raise DecisionRefused(
            f"{name}: cannot be approved: the request is not as the enclave wrote it: "
            + "; ".join(rr.problems)
        )
    if any(d.checker == user.name for d in st.approvals):
        raise DecisionRefused(f"{name}: {user.name} has already approved it")
    if st.state == "approved":
        raise DecisionRefused(f"{name}: already has the {st.needed} approval(s) it needs")
    if st.problems:
        raise DecisionRefused(f"{name}: cannot be approved: {'; '.join(st.problems)}")
    if not st.releasable:
        raise DecisionRefused(f"{name}: has no file under outputs/ that could leave")
    errors = [f for f in st.output.findings if f.get("severity") == "error"]
    if errors:
        raise DecisionRefused(
            f"{name}: cannot be approved: the history audit found "
            f"{errors[0].get('kind', 'a problem')} at {errors[0].get('cell', '?')}: "
            f"{errors[0].get('detail', '')}"
        )


def decide(
    request_dir: Path | str, output: str, user: User, verdict: str, comment: str = ""
) -> Decision:
    """Record `user`'s verdict ('approve' or 'reject') on `output`; raises NotPermitted,
    DecisionRefused or BadInput (naming the rule) when the decision may not be made."""
    if verdict not in VERDICTS:
        raise BadInput(f"verdict {verdict!r}: choose approve or reject")
    comment = comment.strip()
    if verdict == "reject" and not comment:
        raise BadInput("a rejection needs a comment saying why")
    if len(comment) > MAX_COMMENT:
        raise BadInput(f"comment: at most {MAX_COMMENT} characters")
    directory = Path(request_dir)
    load_request(directory)  # a clear error (and no lock file) when it is no request
    with locked(decisions_path(directory)):
        rr = open_request(directory)
        _check_user(user, rr, verdict)
        st = rr.output_state(output)
        _check_output(user, rr, st, verdict)
        decision_id = secrets.token_hex(8)
        audit_hash = trail.append(
            "review.decision",
            actor=user.name,
            role=user.role,
            deliberation=rr.request.deliberation,
            request=rr.id,
            request_sha256=rr.sha256,
            output=output,
            verdict=verdict,
            comment=comment,
            files=st.releasable,
            decision=decision_id,
        )
        decision = Decision(
            id=decision_id,
            time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            request=rr.id,
            request_sha256=rr.sha256,
            output=output,
            checker=user.name,
            verdict=verdict,
            comment=comment,
            files=dict(st.releasable),
            audit=audit_hash,
        )
        append_record(directory, decision)
    return decision
