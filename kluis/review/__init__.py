"""kluis.review: the output checker's side of an output request.

A checker reads what the enclave found about each output and approves or rejects it; the
decisions live beside the request (`decisions.jsonl`, hash-chained) and in the audit log. The
web application (`kluis.review.web`) and the demo call the same functions:

- `find_requests(root)`, `open_request(dir)` -> `ReviewRequest` (request, decisions, states)
- `decide(request_dir, output, user, verdict, comment)` -> `Decision`
- `required_approvals(request)` -> how many distinct checkers each output needs
"""

from kluis.review.decide import decide
from kluis.review.decisions import Decision, ReleaseRecord
from kluis.review.policy import required_approvals
from kluis.review.store import ReviewRequest, find_requests, open_request

__all__ = [
    "Decision",
    "ReleaseRecord",
    "ReviewRequest",
    "decide",
    "find_requests",
    "open_request",
    "required_approvals",
]
