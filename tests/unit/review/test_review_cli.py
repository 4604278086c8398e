"""`kluis review queue`, `kluis review policy`, the session secret, and release from the app."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kluis.cli import app
from kluis.errors import BadInput
from kluis.review import decide, open_request
from kluis.review.web import create_app
from kluis.review.web.auth import load_secret
from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, make_request, user
from tests.unit.review.test_review_web import sign_in

runner = CliRunner()


def test_queue_lists_requests_with_their_state_and_never_renders_markup(review_env):
    make_request(review_env, "r1", project="[red]x[/]")
    d = make_request(review_env, "r2", seed=2)
    decide(d, TABLE, user("anna"), "approve")
    (review_env / "broken").mkdir()
    (review_env / "broken" / "request.json").write_text("{not json")
    r = runner.invoke(
        app, ["review", "queue", "--requests", str(review_env)], env={"COLUMNS": "250"}
    )
    assert r.exit_code == 0, r.output
    assert "[red]x[/]" in r.output  # shown as written, not taken as rich markup
    assert "waiting" in r.output and "partly" in r.output
    assert "cannot be read" in r.output


def test_policy_is_the_stewards_and_only_raises(review_env):
    r = runner.invoke(app, ["review", "policy", "26/104", "--checkers", "2"])
    assert r.exit_code == 0, r.output
    assert open_request(make_request(review_env)).needed == 2
    r = runner.invoke(app, ["review", "policy", "26/104", "--checkers", "3"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["review", "policy", "not-a-number", "--checkers", "1"])
    assert r.exit_code == 2 and "26/104" in r.output


def test_a_checker_cannot_set_the_policy(review_env):
    from kluis.access import Users, current_account

    users = Users()
    users.path.write_text(users.path.read_text().replace("role: steward", "role: checker"))
    assert users.by_account(current_account()).role == "checker"
    r = runner.invoke(app, ["review", "policy", "26/104", "--checkers", "1"])
    assert r.exit_code == 3 and "not permitted" in r.output


def test_the_session_secret_is_made_private_and_a_readable_one_refused(tmp_path):
    path = tmp_path / "secret"
    first = load_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path) == first and len(first) >= 32
    path.chmod(0o644)
    with pytest.raises(BadInput, match="0600"):
        load_secret(path)


def test_the_steward_releases_from_the_app_once_everything_is_decided(review_env, tmp_path):
    from kluis.release.cli import web_releaser

    d = make_request(review_env, "r1")
    client = TestClient(
        create_app(review_env, secret="k" * 64, releaser=web_releaser(tmp_path / "rel", None))
    )
    from kluis.access import current_account

    token = sign_in_steward(client, current_account())
    r = client.post("/requests/r1/release", data={"csrf": token})
    assert "not decided yet" in r.text  # the flash on the request page
    assert not (tmp_path / "rel").exists()
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "reject", "no")
    decide(d, PSPP, user("anna"), "reject", "no")
    r = client.post("/requests/r1/release", data={"csrf": token})
    assert "Released to" in r.text
    assert open_request(d).state == "released"
    assert (tmp_path / "rel" / "r1" / "release.json").is_file()
    # a checker sees the button, a researcher never does
    bert = TestClient(create_app(review_env, secret="k" * 64, releaser=lambda d, u: d))
    sign_in(bert, "bert")
    assert "Released" in bert.get("/requests/r1").text


def sign_in_steward(client: TestClient, name: str) -> str:
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"name": name, "password": "steward-pass-0", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
