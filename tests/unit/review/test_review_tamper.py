"""A request changed after the enclave wrote it is neither approved nor released: its
request.json must be the one an enclave run logged, it holds no links, no file outside what it
names, and no path leaving it. Who is a researcher comes from users.yaml and the logged request,
not from what someone writes into the request afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kluis.access import Users
from kluis.errors import KluisError, NotPermitted, Refused
from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.bundle import release_request
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
    sha,
    user,
)


def _steward():
    from kluis.access import current_account

    return user(current_account())


def _release(d: Path, out: Path) -> Path:
    return release_request(d, out, _steward(), load_signing_key(KeyStore()))


def _approve_all(d: Path) -> None:
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "approve")
    decide(d, PSPP, user("anna"), "reject", "a count of 3")


def _edit(d: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((d / "request.json").read_text())
    change(data)
    (d / "request.json").write_text(json.dumps(data))


def _output(data: dict, name: str) -> dict:
    return next(o for o in data["outputs"] if o["name"] == name)


def _refused_everywhere(d: Path, tmp_path: Path, message: str) -> None:
    """Neither approved (by anyone) nor released, naming `message`; nothing written."""
    before = read_records(d)
    with pytest.raises(KluisError, match=message):
        decide(d, REGRESSION, user("bert"), "approve")
    assert read_records(d) == before
    with pytest.raises(KluisError, match=message):
        _release(d, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_a_request_json_not_written_by_an_enclave_run_is_refused(review_env, tmp_path):
    d = make_request(review_env, logged=False)
    rr = open_request(d)
    assert any("no `kluis enclave run`" in p for p in rr.integrity)
    _refused_everywhere(d, tmp_path, "no `kluis enclave run` in the audit log wrote it")


def test_a_request_json_claiming_the_checks_passed_is_refused(review_env, tmp_path):
    d = make_request(review_env)
    _approve_all(d)

    def claim(data: dict) -> None:
        o = _output(data, REFUSED)
        o.update(status="safe", reason="fine", files={"output": "outputs/rows.csv"})
        (d / "outputs" / "rows.csv").write_text("person,wage\n1,2000\n")
        o["sha256"] = {"outputs/rows.csv": sha(d / "outputs" / "rows.csv")}
        _output(data, TABLE)["findings"] = []

    _edit(d, claim)
    with pytest.raises(Refused, match="no `kluis enclave run`"):
        decide(d, REFUSED, user("bert"), "approve")
    with pytest.raises(Refused, match="no `kluis enclave run`"):
        _release(d, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_a_researcher_removed_from_request_json_still_cannot_approve(review_env, tmp_path):
    Users().add("carl", "checker", "carl-pass-5")
    d = make_request(review_env, researchers=("rita", "carl"))
    _edit(d, lambda data: data.update(researchers=["rita"]))
    with pytest.raises(Refused, match="no `kluis enclave run`"):
        decide(d, TABLE, user("carl"), "approve")
    assert open_request(d).decisions == []


def test_a_checker_who_is_a_researcher_of_the_project_never_approves(review_env):
    Users().add("carl", "checker", "carl-pass-5")
    d = make_request(review_env, researchers=("rita", "carl"), run_by="rita")
    with pytest.raises(NotPermitted, match="researchers"):
        decide(d, TABLE, user("carl"), "approve")


def test_an_approver_who_is_no_checker_any_more_does_not_release(review_env, tmp_path):
    d = make_request(review_env)
    _approve_all(d)
    users = Users()
    users.remove("anna")
    users.add("anna", "researcher", "anna-pass-1")  # the role comes from users.yaml, now
    with pytest.raises(Refused, match="anna, who is no longer a checker"):
        _release(d, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()


def test_a_file_added_under_outputs_is_refused(review_env, tmp_path):
    d = make_request(review_env)
    _approve_all(d)
    (d / "outputs" / "extra.csv").write_text("person,wage\n1,2000\n")
    assert "outputs/extra.csv: added after the run" in "; ".join(open_request(d).integrity)
    _refused_everywhere(d, tmp_path, "outputs/extra.csv: added after the run")


def test_a_file_added_to_a_history_record_is_refused(review_env, tmp_path):
    d = make_request(review_env)
    (d / "internal" / "history" / TABLE / "extra.parquet").write_bytes(b"x")
    with pytest.raises(Refused, match="extra.parquet: added after the run"):
        decide(d, TABLE, user("anna"), "approve")


def test_a_changed_history_record_is_refused(review_env, tmp_path):
    d = make_request(review_env)
    meta = d / "internal" / "history" / TABLE / "meta.json"
    meta.write_text(meta.read_text().replace('"format"', '"format" ', 1))
    with pytest.raises(Refused, match="meta.json: changed since the run"):
        decide(d, TABLE, user("anna"), "approve")


@pytest.mark.parametrize("inside", [True, False])
def test_a_symbolic_link_in_the_request_is_refused(review_env, tmp_path, inside):
    d = make_request(review_env)
    _approve_all(d)
    target = d / "outputs" / f"{REGRESSION}.csv"
    copy = (d / "internal" / "copy.csv") if inside else (tmp_path / "copy.csv")
    copy.write_bytes(target.read_bytes())  # same bytes: the recorded hash still matches
    target.unlink()
    os.symlink(copy, target)
    _refused_everywhere(d, tmp_path, "a symbolic link|leaves the request directory")


def test_a_path_leaving_the_request_is_refused(review_env, tmp_path):
    d = make_request(review_env)
    secret = review_env / "secret.csv"
    secret.write_text("person,wage\n1,2000\n")

    def point_out(data: dict) -> None:
        o = _output(data, REGRESSION)
        o["files"] = {"output": "../secret.csv"}
        o["sha256"] = {"../secret.csv": sha(secret)}

    _edit(d, point_out)
    enclave_ran(d)  # even were it logged, the path is refused
    with pytest.raises(KluisError, match="leaves the request directory"):
        decide(d, REGRESSION, user("anna"), "approve")
    assert read_records(d) == []


def test_the_queue_marks_a_request_changed_after_the_run(review_env):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from kluis.cli import app
    from kluis.review.web import create_app
    from tests.review_requests import PASSWORDS

    make_request(review_env, "r-good")
    make_request(review_env, "r-bad", seed=2, logged=False)
    r = CliRunner().invoke(
        app, ["review", "queue", "--requests", str(review_env)], env={"COLUMNS": "300"}
    )
    assert r.exit_code == 0, r.output
    lines = {line.split()[1]: line for line in r.output.splitlines() if "r-" in line}
    assert "changed after the run" in lines["r-bad"]
    assert "changed after the run" not in lines["r-good"]
    client = TestClient(create_app(review_env, secret="s" * 64))
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": "anna", "password": PASSWORDS["anna"], "csrf": token})
    assert client.get("/").text.count("changed after the run") == 1
    page = client.get("/requests/r-bad").text
    assert "not as the enclave wrote it" in page and "no `kluis enclave run`" in page
