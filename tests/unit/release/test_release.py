"""`kluis release`: bundles from approved outputs only, signed, and verified file by file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.disclosure.history import History
from kluis.errors import Refused
from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import PUBLIC, load_signing_key
from kluis.release.bundle import release_request
from kluis.release.verify import verify_bundle
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

runner = CliRunner()


def _decided(requests, rid="r1", **kw):
    """A request with the table and the figure approved, the regression and PSPP rejected."""
    d = make_request(requests, rid, **kw)
    decide(d, TABLE, user("anna"), "approve", "protected")
    decide(d, FIGURE, user("bert"), "approve", "")
    decide(d, REGRESSION, user("anna"), "reject", "coefficients of a tiny group")
    decide(d, PSPP, user("bert"), "reject", "a count of 3")
    return d


def _steward():
    from kluis.access import current_account

    return user(current_account())


def test_cli_release_then_verify(review_env, tmp_path):
    d = _decided(review_env)
    out = tmp_path / "bundle"
    r = runner.invoke(app, ["release", str(d), "--out", str(out)])  # the default sub-command
    assert r.exit_code == 0, r.output
    assert "released 2 file(s)" in r.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert [f for f in files if f.startswith("outputs/")] == [
        "outputs/age.png",
        f"outputs/{TABLE}.csv",
    ]
    # beside them only the manifest, its signature and (when the audit stage signs heads) the
    # audit log's head
    assert {f for f in files if not f.startswith("outputs/")} <= {
        "release.json",
        "release.sig",
        "audit-head.json",
    }
    r = runner.invoke(app, ["release", "verify", str(out)])
    assert r.exit_code == 0, r.output
    assert f"verified: {len(files) - 2} file(s)" in r.output  # all but manifest and signature
    r = runner.invoke(app, ["release", "create", str(d), "--out", str(tmp_path / "again")])
    assert r.exit_code == 1 and "already released" in r.output
    assert open_request(d).state == "released"


def test_release_json_names_everything(review_env, tmp_path):
    d = _decided(review_env)
    out = release_request(d, tmp_path / "b", _steward(), load_signing_key(KeyStore()))
    m = json.loads((out / "release.json").read_text())
    rr = open_request(d)
    assert m["request"]["id"] == "r1" and m["request"]["sha256"] == sha(d / "request.json")
    assert m["code"] == rr.request.code
    assert m["extract"]["manifest_sha256"] == rr.request.extract.manifest_sha256
    assert m["deliberation"] == "26/104"
    assert m["rule_version"] == "26/104 output_rules v1"
    assert m["checkers"] == ["anna", "bert"]
    assert [o["name"] for o in m["outputs"]] == [TABLE, FIGURE]
    assert m["outputs"][0]["decisions"][0]["checker"] == "anna"
    outputs = {k: v for k, v in m["files"].items() if k.startswith("outputs/")}
    assert outputs == {
        f"outputs/{TABLE}.csv": sha(d / "outputs" / f"{TABLE}.csv"),
        "outputs/age.png": sha(d / "outputs" / "age.png"),
    }
    assert set(m["files"]) - set(outputs) <= {"audit-head.json"}
    assert {x["name"]: x["state"] for x in m["not_released"]} == {
        REGRESSION: "rejected",
        PSPP: "rejected",
        REFUSED: "refused",
    }
    assert m["time"] and len(m["audit_head"]) == 64
    assert m["signing_key"] == load_signing_key(KeyStore()).fingerprint
    # recorded in the request, the audit log and the catalogue
    assert read_records(d)[-1].kind == "release"
    from kluis.audit.catalogue import entries

    assert any(e.kind == "release" and e.path == str(out) for e in entries())


def test_nothing_leaves_before_every_output_is_decided(review_env, tmp_path):
    d = make_request(review_env)
    decide(d, TABLE, user("anna"), "approve")
    with pytest.raises(Exception, match="not decided yet"):
        release_request(d, tmp_path / "b", _steward(), load_signing_key(KeyStore()))
    assert not (tmp_path / "b").exists()


def test_a_rejected_request_has_nothing_to_release(review_env, tmp_path):
    d = make_request(review_env)
    for name in (TABLE, FIGURE, REGRESSION, PSPP):
        decide(d, name, user("anna"), "reject", "no")
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "no output is approved" in r.output
    assert not (tmp_path / "b").exists()


def test_an_approval_written_into_the_file_by_hand_is_not_honoured(review_env, tmp_path):
    """A rejection replaced by a forged approval with a correct chain: the audit log says no."""
    import hashlib
    from dataclasses import asdict

    from kluis.review.decisions import GENESIS, Decision

    d = make_request(review_env)
    rr = open_request(d)
    lines, prev = [], GENESIS
    for name in (TABLE, FIGURE, REGRESSION, PSPP):
        forged = Decision(
            id=name,
            time="2026-11-21T00:00:00+00:00",
            request=rr.id,
            request_sha256=rr.sha256,
            output=name,
            checker="anna",
            verdict="approve",
            comment="",
            files=rr.states[name].releasable,
            audit="f" * 64,
        )
        body = {**asdict(forged), "prev": prev}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(text.encode()).hexdigest()
        lines.append(json.dumps({**body, "hash": prev}, sort_keys=True))
    (d / "decisions.jsonl").write_text("\n".join(lines) + "\n")
    assert open_request(d).state == "approved"  # the file alone looks fine
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "not in the audit log" in r.output
    assert not (tmp_path / "b").exists()


def test_a_cut_decisions_file_is_caught_by_the_audit_log(review_env, tmp_path):
    """Cutting the last line (a rejection) would make the output look undecided: the audit log
    still holds the rejection, so the request does not release."""
    d = _decided(review_env)
    path = d / "decisions.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    decide(d, PSPP, user("anna"), "approve")  # a second look, after the cut
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "audit log" in r.output


def test_a_file_changed_after_approval_does_not_leave(review_env, tmp_path):
    d = _decided(review_env)
    data = json.loads((d / "request.json").read_text())
    png = d / "outputs" / "age.png"
    png.write_bytes(png.read_bytes() + b"extra")
    for o in data["outputs"]:  # even with the request's hash updated to match
        if o["name"] == FIGURE:
            o["sha256"] = {"outputs/age.png": sha(png)}
    (d / "request.json").write_text(json.dumps(data))
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1
    assert "no `kluis enclave run` in the audit log wrote it" in r.output  # request.json edited
    assert not (tmp_path / "b").exists()
    enclave_ran(d)  # even had the enclave itself written it again: the approval was of others
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "changed after" in r.output
    assert not (tmp_path / "b").exists()


def test_two_checkers_are_needed_when_the_deliberation_policy_says(review_env, tmp_path):
    from kluis.review.policy import set_steward_policy

    set_steward_policy("26/104", 2)
    d = _decided(review_env)
    assert open_request(d).output_state(TABLE).state == "partly approved"
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "not decided yet" in r.output
    decide(d, TABLE, user("bert"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "b" / "release.json").read_text())
    assert [len(o["decisions"]) for o in m["outputs"]] == [2, 2]


def test_a_researcher_cannot_release(review_env, tmp_path, monkeypatch):
    from kluis.access import Users, current_account

    d = _decided(review_env)
    users = Users()
    text = users.path.read_text().replace("role: steward", "role: researcher")
    users.path.write_text(text)
    assert users.by_account(current_account()).role == "researcher"
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 3 and "not permitted" in r.output
    assert not (tmp_path / "b").exists()


def test_an_existing_bundle_is_never_overwritten(review_env, tmp_path):
    d = _decided(review_env)
    (tmp_path / "b").mkdir()
    r = runner.invoke(app, ["release", str(d), "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "already exists" in r.output
    assert open_request(d).state == "approved"


@pytest.fixture
def bundle(review_env, tmp_path):
    d = _decided(review_env)
    return release_request(d, tmp_path / "bundle", _steward(), load_signing_key(KeyStore()))


def _verify(bundle, *extra):
    return runner.invoke(app, ["release", "verify", str(bundle), *extra])


def test_verify_names_a_changed_byte(bundle):
    path = bundle / "outputs" / f"{TABLE}.csv"
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))
    r = _verify(bundle)
    assert r.exit_code == 1
    assert f"outputs/{TABLE}.csv: changed" in r.output


def test_verify_names_an_added_file(bundle):
    (bundle / "outputs" / "extra.csv").write_text("a,b\n1,2\n")
    (bundle / "notes.txt").write_text("hello")
    r = _verify(bundle)
    assert r.exit_code == 1
    assert "outputs/extra.csv: added" in r.output and "notes.txt: added" in r.output


def test_verify_names_a_removed_file(bundle):
    (bundle / "outputs" / "age.png").unlink()
    r = _verify(bundle)
    assert r.exit_code == 1 and "outputs/age.png: removed" in r.output


def test_verify_names_a_changed_release_json(bundle):
    path = bundle / "release.json"
    path.write_text(path.read_text().replace('"checkers": [\n  "anna"', '"checkers": [\n  "eve"'))
    r = _verify(bundle)
    assert r.exit_code == 1 and "release.json: changed after it was signed" in r.output


def test_verify_names_a_signature_by_another_key(bundle, tmp_path):
    from kluis.pseudonym.signing import create_signing_key
    from kluis.release.bundle import sign

    other = create_signing_key(KeyStore(tmp_path / "other-keys"))
    manifest = (bundle / "release.json").read_bytes()
    (bundle / "release.sig").write_bytes(sign(other, manifest))
    r = _verify(bundle)
    assert r.exit_code == 1
    assert f"signed by another key (fingerprint {other.fingerprint})" in r.output
    # with that key named as the release key, it verifies: the signature itself is sound
    r = _verify(bundle, "--public-key", str(tmp_path / "other-keys" / PUBLIC))
    assert r.exit_code == 0, r.output


def test_verify_with_the_published_public_key_anywhere(bundle, tmp_path):
    public = tmp_path / "release-key.pub"
    shutil.copy(KeyStore().root / PUBLIC, public)
    copy = tmp_path / "copied-bundle"
    shutil.copytree(bundle, copy)
    r = _verify(copy, "--public-key", str(public))
    assert r.exit_code == 0, r.output


def test_verify_reports_every_problem_at_once(bundle):
    (bundle / "outputs" / "age.png").unlink()
    (bundle / "outputs" / "x.csv").write_text("1\n")
    (bundle / "release.sig").unlink()
    v = verify_bundle(bundle, load_signing_key(KeyStore()).public)
    assert len(v.problems) == 3 and not v.ok


def test_verify_refuses_a_link_out_of_the_bundle(bundle, tmp_path):
    (tmp_path / "outside.csv").write_text("secret\n")
    (bundle / "outputs" / "link.csv").symlink_to(tmp_path / "outside.csv")
    r = _verify(bundle)
    assert r.exit_code == 1 and "outputs/link.csv: not a regular file" in r.output


def test_the_release_group_routes_its_first_token(review_env, tmp_path):
    r = runner.invoke(app, ["release", "--help"])
    assert r.exit_code == 0 and "verify" in r.output and "create" in r.output
    r = runner.invoke(app, ["release", str(tmp_path / "nope"), "--out", str(tmp_path / "b")])
    assert r.exit_code == 2 and "request.json" in r.output
    r = runner.invoke(app, ["release", "verify", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "not a directory" in r.output, r.output


def test_released_tables_enter_the_release_history_and_nothing_else(review_env, tmp_path):
    from kluis.release.history import history_dir

    d = _decided(review_env)  # the table approved; the regression and PSPP rejected
    record = d / "internal" / "history" / TABLE
    assert record.is_dir()  # the enclave's release record of the table
    dev = make_request(review_env, "dev", phase="development", seed=3)
    for name in (TABLE, FIGURE, REGRESSION, PSPP):
        decide(dev, name, user("anna"), "approve")
    key = load_signing_key(KeyStore())
    release_request(dev, tmp_path / "dev-bundle", _steward(), key)
    history = History(history_dir("26/104"))
    assert history.releases() == []  # a development run's tables never enter the history
    release_request(d, tmp_path / "bundle", _steward(), key)
    entries = history.releases()
    assert len(entries) == 1 and entries[0].name.endswith(TABLE)
    m = json.loads((tmp_path / "bundle" / "release.json").read_text())
    assert TABLE in [o["name"] for o in m["outputs"]]


def test_two_requests_made_before_either_left_are_audited_together(review_env, tmp_path):
    """Each run was audited against the history as it was (empty); released one after the
    other, the second table (everybody but 3 persons) minus the first would give those 3
    persons away: the release audits again, under the history's lock, and refuses it."""
    from kluis.release.history import history_dir

    everybody = _decided(review_env, "r-all")
    all_but_3 = _decided(review_env, "r-all-but-3", without=3)
    key = load_signing_key(KeyStore())
    release_request(everybody, tmp_path / "b1", _steward(), key)
    with pytest.raises(Refused, match="together with tables released since the run"):
        release_request(all_but_3, tmp_path / "b2", _steward(), key)
    assert not (tmp_path / "b2").exists()
    assert len(History(history_dir("26/104")).releases()) == 1  # nothing of it recorded
    assert open_request(all_but_3).state != "released"


def test_verify_refuses_a_release_json_replaced_by_a_link(bundle, tmp_path):
    moved = tmp_path / "elsewhere.json"
    (bundle / "release.json").rename(moved)
    (bundle / "release.json").symlink_to(moved)  # same bytes, same signature: still refused
    r = _verify(bundle)
    assert r.exit_code == 1 and "release.json: a link" in r.output


def test_verify_names_a_garbled_signature(bundle):
    (bundle / "release.sig").write_text("{not json")
    r = _verify(bundle)
    assert r.exit_code == 1 and "release.sig: not a kluis signature file" in r.output


def test_the_history_is_catalogued_and_a_table_without_its_record_never_leaves(
    review_env, tmp_path
):
    from kluis.audit.catalogue import entries
    from kluis.release.history import history_dir

    d = _decided(review_env)
    key = load_signing_key(KeyStore())
    release_request(d, tmp_path / "bundle", _steward(), key)
    kinds = {(e.kind, Path(e.path).name) for e in entries()}
    assert ("history", "26-104") in kinds and ("release", "bundle") in kinds

    other = make_request(review_env, "r2", seed=5, logged=False)
    data = json.loads((other / "request.json").read_text())
    for o in data["outputs"]:
        if o["name"] == TABLE:  # the enclave's record of the table is gone from the request
            o["files"].pop("history")
            o["sha256"] = {p: h for p, h in o["sha256"].items() if "history" not in p}
    (other / "request.json").write_text(json.dumps(data))
    shutil.rmtree(other / "internal" / "history")
    enclave_ran(other)
    for name in (TABLE, FIGURE, REGRESSION, PSPP):
        decide(other, name, user("anna"), "approve")
    before = History(history_dir("26/104")).releases()
    with pytest.raises(Refused, match="without its release-history record"):
        release_request(other, tmp_path / "b2", _steward(), key)
    assert not (tmp_path / "b2").exists()
    assert History(history_dir("26/104")).releases() == before
