"""Invariant: whatever anyone tries, in any order, a bundle holds exactly the outputs approved
by enough distinct checkers and rejected by none, and it verifies."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.access import current_account
from kluis.errors import KluisError
from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.bundle import release_request
from kluis.release.verify import verify_bundle
from kluis.review import decide, open_request
from tests.review_requests import (
    FIGURE,
    PSPP,
    REFUSED,
    REGRESSION,
    TABLE,
    enclave_ran,
    make_request,
    user,
)

OUTPUTS = (TABLE, FIGURE, REGRESSION, PSPP, REFUSED)
PEOPLE = ("anna", "bert", "rita", "steward")
CHECKERS = {"anna", "bert"}

attempts = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(OUTPUTS),
        st.sampled_from(("approve", "reject")),
        st.sampled_from(("", "because")),
    ),
    max_size=14,
)


@pytest.fixture
def templates(review_env, tmp_path):
    """One request per number of checkers, made once and copied for each example."""
    made = {}
    for needed in (1, 2):
        made[needed] = make_request(
            tmp_path / "templates", f"r{needed}", rules={"min_cell": 10, "checkers": needed}
        )
    return review_env, made


def _expected(tries, needed):
    """The rules, written out independently of kluis.review: what should be accepted."""
    approvals = {o: set() for o in OUTPUTS}
    rejected = set()
    accepted = []
    for who, output, verdict, comment in tries:
        ok = who in CHECKERS and output != REFUSED and output not in rejected
        if verdict == "approve":
            ok = ok and who not in approvals[output] and len(approvals[output]) < needed
        else:
            ok = ok and bool(comment)
        accepted.append(ok)
        if ok and verdict == "approve":
            approvals[output].add(who)
        elif ok:
            rejected.add(output)
    approved = {o for o in OUTPUTS if len(approvals[o]) >= needed and o not in rejected}
    pending = {o for o in OUTPUTS if o != REFUSED and o not in rejected and o not in approved}
    return accepted, approved, pending


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tries=attempts, needed=st.sampled_from((1, 2)))
def test_only_what_enough_checkers_approved_leaves(templates, tmp_path_factory, tries, needed):
    requests, made = templates
    work = tmp_path_factory.mktemp("prop")
    d = work / "request"
    shutil.copytree(made[needed], d)
    # each example is its own installation: the audit log would otherwise hold the decisions
    # made on earlier copies of the same request, which the release rightly refuses
    os.environ["KLUIS_AUDIT_LOG"] = str(work / "audit.jsonl")
    enclave_ran(d)
    accepted = []
    for who, output, verdict, comment in tries:
        u = user(current_account() if who == "steward" else who)
        try:
            decide(d, output, u, verdict, comment)
            accepted.append(True)
        except KluisError:
            accepted.append(False)
    want_accepted, approved, pending = _expected(tries, needed)
    assert accepted == want_accepted
    rr = open_request(d)
    assert {n for n, s in rr.states.items() if s.state == "approved"} == approved
    key = load_signing_key(KeyStore())
    out = work / "bundle"
    if pending or not approved:
        with pytest.raises(KluisError):
            release_request(d, out, user(current_account()), key)
        assert not out.exists()
        return
    release_request(d, out, user(current_account()), key)
    v = verify_bundle(out, key.public)
    assert v.ok, v.problems
    assert {o["name"] for o in v.manifest["outputs"]} == approved
    released = {rel for n in approved for rel in rr.states[n].releasable}
    assert {f for f in v.manifest["files"] if f.startswith("outputs/")} == released
    assert all(rel.startswith("outputs/") for rel in released)
