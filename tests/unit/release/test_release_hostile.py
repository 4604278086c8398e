"""Request files a careless hand or a saboteur left: request.json, decisions.jsonl and the
release journal that JSON trips over. `release` and `review queue` answer with one line naming
the file (no traceback) and nothing is written where the bundle would go."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.release.bundle import JOURNAL
from kluis.review import decide
from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, make_request, user

runner = CliRunner()
NESTED = b"[" * 100_000 + b"]" * 100_000


def _run(*argv):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, [str(a) for a in argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def _approved(requests):  # type: ignore[no-untyped-def]
    d = make_request(requests, "r1")
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "reject", "small group")
    decide(d, PSPP, user("anna"), "reject", "a count of 3")
    return d


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (NESTED, "request.json: not valid JSON: nested too deeply"),
        (b'{"a": [' * 50_000, "request.json"),
        (b'{"id": "r1", "id": "r2"}', "request.json: duplicate key 'id'"),
        (b'{"version": NaN}', "request.json: NaN is not a JSON number"),
    ],
)
def test_a_request_json_json_trips_over(review_env, tmp_path, data, says):
    d = make_request(review_env, "r1")
    (d / "request.json").write_bytes(data)
    out = tmp_path / "bundle"
    code, err = _run("release", d, "--out", out)
    assert code == 2 and err.count("\n") == 1 and says in err, err
    assert not out.exists() and not list(tmp_path.glob(".bundle*"))
    code, err = _run("review", "queue", "--requests", review_env)
    assert code == 0, err


def test_a_request_json_too_large_is_refused_before_it_is_read(review_env, tmp_path):
    d = make_request(review_env, "r1")
    with open(d / "request.json", "r+b") as fh:
        fh.truncate(64 << 20)  # sparse: costs nothing to write, would cost 64 MB to read
    code, err = _run("release", d, "--out", tmp_path / "bundle")
    assert code == 2 and "request.json" in err and "at most" in err, err


def test_a_deeply_nested_decision_line_is_named(review_env, tmp_path):
    d = _approved(review_env)
    with open(d / "decisions.jsonl", "ab") as fh:
        fh.write(NESTED + b"\n")
    code, err = _run("release", d, "--out", tmp_path / "bundle")
    assert code == 2 and "decisions.jsonl:5: not valid JSON: nested too deeply" in err, err
    code, err = _run("review", "queue", "--requests", review_env)
    assert code == 0, err


@pytest.mark.parametrize(
    "journal",
    [
        b"[]",
        NESTED,
        b'{"target": 5}',
        b'{"bundle": 5}',
        b'{"history": []}',
        b'{"pending": {"t": 1}}',
        b"\xff",
    ],
)
def test_a_damaged_release_journal_fails_closed(review_env, tmp_path, journal):
    d = _approved(review_env)
    (d / JOURNAL).write_bytes(journal)
    out = tmp_path / "bundle"
    code, err = _run("release", d, "--out", out)
    assert code == 1 and err.count("\n") == 1, err
    assert JOURNAL in err and "interrupted release" in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["release.json", "release.sig"])
def test_verify_names_a_deeply_nested_manifest_or_signature(review_env, tmp_path, name):
    d = _approved(review_env)
    bundle = tmp_path / "bundle"
    code, err = _run("release", d, "--out", bundle)
    assert code == 0, err
    (bundle / name).write_bytes(NESTED)
    code, err = _run("release", "verify", bundle)
    assert code == 1 and name in err, err


def test_a_deeply_nested_history_record_fails_closed(review_env, tmp_path):
    from kluis.disclosure.record import RecordError, read_record

    d = make_request(review_env, "r1")
    record = d / "internal" / "history" / TABLE
    (record / "meta.json").write_bytes(NESTED)
    with pytest.raises(RecordError, match="not a readable kluis release record"):
        read_record(record)
