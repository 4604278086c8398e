"""The rules of a decision, checked by `kluis.review.decide` (the web app and the demo call it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kluis.audit import AuditLog
from kluis.enclave.request import RequestError
from kluis.errors import BadInput, NotPermitted, Refused
from kluis.review import decide, open_request
from kluis.review.decisions import read_records
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


def test_a_checker_approves_and_the_decision_is_in_the_file_and_the_audit_log(review_env):
    d = make_request(review_env)
    decision = decide(d, TABLE, user("anna"), "approve", "protected as required")
    rr = open_request(d)
    assert rr.output_state(TABLE).state == "approved"
    assert rr.state == "partly reviewed"
    assert read_records(d) == [decision]
    entries = [e for e in AuditLog(review_env.parent / "home/audit.jsonl").entries()]
    logged = next(e for e in entries if e["hash"] == decision.audit)
    assert logged["action"] == "review.decision"
    assert logged["actor"] == "anna"
    assert logged["details"]["output"] == TABLE
    assert logged["details"]["verdict"] == "approve"
    assert logged["details"]["files"] == decision.files
    assert list(decision.files) == [f"outputs/{TABLE}.csv"]  # internal files never leave


def test_only_a_checker_decides(review_env):
    d = make_request(review_env, researchers=("rita",), run_by="rita")
    for name in ("sam", "rita"):  # researchers, of another project or of this one
        with pytest.raises(NotPermitted):
            decide(d, TABLE, user(name), "approve")
        with pytest.raises(NotPermitted):
            decide(d, TABLE, user(name), "reject", "no")
    from kluis.access import current_account

    with pytest.raises(NotPermitted, match="steward"):  # the steward releases, never approves
        decide(d, TABLE, user(current_account()), "approve")
    assert read_records(d) == []


def test_the_checker_who_ran_the_project_never_approves_it(review_env):
    d = make_request(review_env, researchers=("rita", "anna"), run_by="anna")
    with pytest.raises(NotPermitted, match="researchers"):
        decide(d, TABLE, user("anna"), "approve")
    decide(d, TABLE, user("bert"), "approve")
    assert open_request(d).output_state(TABLE).approvers == ["bert"]


def test_a_checker_cannot_approve_twice_and_two_checkers_are_needed_when_the_rules_say(
    review_env,
):
    rules = {"output_rules": {"min_cell": 10, "checkers": 2}, "version": "v"}  # as the enclave
    d = make_request(review_env, rules=rules)
    assert open_request(d).needed == 2
    decide(d, TABLE, user("anna"), "approve")
    assert open_request(d).output_state(TABLE).state == "partly approved"
    with pytest.raises(Refused, match="already approved"):
        decide(d, TABLE, user("anna"), "approve")
    decide(d, TABLE, user("bert"), "approve")
    st = open_request(d).output_state(TABLE)
    assert st.state == "approved"
    assert sorted(st.approvers) == ["anna", "bert"]


def test_the_steward_policy_raises_but_never_lowers_the_number(review_env):
    from kluis.review.policy import set_steward_policy

    d = make_request(review_env)
    assert open_request(d).needed == 1  # the deliberation (26/104: checkers 1)
    set_steward_policy("26/104", 2)
    assert open_request(d).needed == 2
    d2 = make_request(review_env, "r2", rules={"checkers": 2})  # at the top: read too
    set_steward_policy("26/104", 1)
    assert open_request(d2).needed == 2  # the request's recorded rules still count


def test_a_rejection_needs_a_comment_and_is_final(review_env):
    d = make_request(review_env)
    with pytest.raises(BadInput, match="comment"):
        decide(d, FIGURE, user("anna"), "reject", "   ")
    decide(d, FIGURE, user("anna"), "reject", "shows a single person's age")
    assert open_request(d).output_state(FIGURE).state == "rejected"
    with pytest.raises(Refused, match="already rejected"):
        decide(d, FIGURE, user("bert"), "approve")


def test_a_checker_may_reject_what_they_approved_before_it_leaves(review_env):
    d = make_request(review_env, rules={"checkers": 2})
    decide(d, TABLE, user("anna"), "approve")
    decide(d, TABLE, user("anna"), "reject", "on second thought: Limburg is too small")
    assert open_request(d).output_state(TABLE).state == "rejected"


def test_an_output_the_enclave_refused_can_never_be_approved(review_env):
    d = make_request(review_env)
    with pytest.raises(Refused, match="enclave refused"):
        decide(d, REFUSED, user("anna"), "approve")


def test_an_output_changed_after_the_run_cannot_be_approved(review_env):
    d = make_request(review_env)
    (d / "outputs" / f"{REGRESSION}.csv").write_text("term,coef\nIntercept,9\n")
    with pytest.raises(Refused, match="changed since the run"):
        decide(d, REGRESSION, user("anna"), "approve")
    (d / "code" / "analysis.py").write_text("print('other code')\n")
    with pytest.raises(Refused, match="code/analysis.py: differs"):
        decide(d, TABLE, user("anna"), "approve")


def test_an_output_with_a_history_finding_cannot_be_approved(review_env):
    d = make_request(review_env)
    data = json.loads((d / "request.json").read_text())
    for o in data["outputs"]:
        if o["name"] == TABLE:
            o["findings"] = [
                {
                    "severity": "error",
                    "kind": "differencing",
                    "cell": "province=x",
                    "detail": "differs from release 00001 by 2 person(s)",
                }
            ]
    (d / "request.json").write_text(json.dumps(data))
    enclave_ran(d)  # as the enclave writes it when its history audit finds this
    with pytest.raises(Refused, match="differencing"):
        decide(d, TABLE, user("anna"), "approve")


def test_unknown_verdicts_and_outputs_are_refused(review_env):
    d = make_request(review_env)
    with pytest.raises(BadInput, match="verdict"):
        decide(d, TABLE, user("anna"), "maybe")
    with pytest.raises(RequestError, match="no output"):
        decide(d, "../outputs", user("anna"), "approve")


def test_request_state_follows_the_outputs(review_env):
    d = make_request(review_env)
    assert open_request(d).state == "waiting"
    decide(d, TABLE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "reject", "no")
    decide(d, FIGURE, user("anna"), "reject", "no")
    assert open_request(d).state == "partly reviewed"
    decide(d, PSPP, user("anna"), "reject", "a count of 3")
    assert open_request(d).state == "approved"  # every output decided, one approved


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda lines: [lines[0].replace('"approve"', '"reject"'), *lines[1:]], "changed"),
        (lambda lines: lines[1:], "does not follow"),
        (lambda lines: [lines[1], lines[0]], "does not follow"),
        (lambda lines: [lines[0], "", lines[1]], "blank line"),
    ],
    ids=["edited", "removed", "reordered", "inserted"],
)
def test_a_tampered_decisions_file_is_named_not_used(review_env, damage, message):
    d = make_request(review_env)
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("bert"), "approve")
    path = d / "decisions.jsonl"
    path.write_text("\n".join(damage(path.read_text().splitlines())) + "\n")
    with pytest.raises(RequestError, match=rf"decisions.jsonl:\d+: .*{message}"):
        open_request(d)
    with pytest.raises(RequestError):
        decide(d, REGRESSION, user("anna"), "approve")


def test_the_deliberation_in_the_registry_sets_the_number(review_env, tmp_path, monkeypatch):
    """checkers: 2 in the registered deliberation counts, whatever the request recorded."""
    registry = tmp_path / "registry"
    registry.mkdir()
    text = Path("deliberations/26-104.yaml").read_text(encoding="utf-8")
    assert "  checkers: 1\n" in text
    (registry / "26-104.yaml").write_text(text.replace("  checkers: 1\n", "  checkers: 2\n"))
    monkeypatch.setenv("KLUIS_DELIBERATIONS", str(registry))
    d = make_request(review_env)  # its recorded rules say 1
    assert open_request(d).needed == 2
    decide(d, TABLE, user("anna"), "approve")
    assert open_request(d).output_state(TABLE).state == "partly approved"
    (registry / "26-104.yaml").write_text(text.replace("  checkers: 1\n", "  checkers: 3\n"))
    from kluis.deliberation import DeliberationError

    with pytest.raises(DeliberationError):  # a broken registered file stops, never defaults
        open_request(d)
