"""Security of the review application (FastAPI TestClient): sign-in, roles, CSRF, escaping."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from kluis.review import open_request
from kluis.review.web import create_app
from tests.review_requests import FIGURE, PASSWORDS, PSPP, TABLE, enclave_ran, make_request

SECRET = "s" * 64


def _client(requests, releaser=None) -> TestClient:
    return TestClient(create_app(requests, secret=SECRET, releaser=releaser))


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(client: TestClient, name: str, password: str | None = None) -> str:
    """Sign in; returns the session's CSRF token (from the queue page)."""
    token = _csrf(client.get("/login").text)
    r = client.post(
        "/login",
        data={"name": name, "password": password or PASSWORDS[name], "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return _csrf(client.get("/").text)


@pytest.fixture
def two(review_env):
    """Two requests: rita's project (26/104) and sam's, plus a development run of rita's."""
    make_request(review_env, "r-rita", researchers=("rita",), run_by="rita")
    make_request(
        review_env, "r-sam", project="other project", researchers=("sam",), run_by="sam", seed=3
    )
    make_request(
        review_env, "r-rita-dev", phase="development", seed=2, created="2026-11-01T09:00:00+00:00"
    )
    return review_env


PAGES = [
    "/",
    "/requests/r-rita",
    f"/requests/r-rita/outputs/{TABLE}",
    f"/requests/r-rita/outputs/{FIGURE}/files/0",
]
ACTIONS = [f"/requests/r-rita/outputs/{TABLE}/decide", "/requests/r-rita/release", "/logout"]


def test_every_page_and_action_is_refused_without_sign_in(two):
    client = _client(two, releaser=lambda d, u: d)
    for url in PAGES:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", url
        assert "r-rita" not in r.text
    for url in ACTIONS:
        r = client.post(url, data={"verdict": "approve", "csrf": "x"}, follow_redirects=False)
        assert r.status_code == 403, url
    assert open_request(two / "r-rita").decisions == []


def test_a_wrong_password_or_unknown_user_does_not_sign_in(two):
    client = _client(two)
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"name": "anna", "password": "wrong", "csrf": token})
    assert r.status_code == 401
    token = _csrf(r.text)
    r = client.post("/login", data={"name": "nobody", "password": "x", "csrf": token})
    assert r.status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_forms_token_is_refused(two):
    client = _client(two)
    client.get("/login")
    r = client.post("/login", data={"name": "anna", "password": PASSWORDS["anna"]})
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_checker_sees_the_queue_and_decides_through_the_form(two):
    client = _client(two)
    token = sign_in(client, "anna")
    queue = client.get("/").text
    assert all(rid in queue for rid in ("r-rita", "r-sam", "r-rita-dev"))
    r = client.post(
        f"/requests/r-rita/outputs/{TABLE}/decide",
        data={"verdict": "approve", "comment": "ok", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert open_request(two / "r-rita").output_state(TABLE).approvers == ["anna"]
    page = client.get(f"/requests/r-rita/outputs/{TABLE}").text
    assert "Approved " + TABLE in page  # the flash after the redirect


def test_a_forged_or_replayed_form_without_its_token_is_refused(two):
    anna = _client(two)
    token = sign_in(anna, "anna")
    url = f"/requests/r-rita/outputs/{TABLE}/decide"
    assert anna.post(url, data={"verdict": "approve"}).status_code == 403  # no token
    assert anna.post(url, data={"verdict": "approve", "csrf": "forged"}).status_code == 403
    bert = _client(two)
    sign_in(bert, "bert")
    # anna's token in bert's session: a form from another session
    assert bert.post(url, data={"verdict": "approve", "csrf": token}).status_code == 403
    # signed out: the old cookie and token are worth nothing
    cookie = dict(anna.cookies)
    assert anna.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    replay = _client(two)
    replay.cookies.update(cookie)
    r = replay.post(url, data={"verdict": "approve", "csrf": token}, follow_redirects=False)
    assert r.status_code == 403
    assert replay.get("/", follow_redirects=False).status_code == 303
    assert open_request(two / "r-rita").decisions == []


def test_a_session_cookie_from_another_server_secret_is_not_accepted(two):
    client = _client(two)
    sign_in(client, "anna")
    other = TestClient(create_app(two, secret="t" * 64))
    other.cookies.update(dict(client.cookies))
    assert other.get("/", follow_redirects=False).status_code == 303


def test_a_researcher_sees_only_their_projects_and_never_decides(two):
    client = _client(two, releaser=lambda d, u: d)
    token = sign_in(client, "sam")
    queue = client.get("/").text
    assert "r-sam" in queue and "r-rita" not in queue
    assert client.get("/requests/r-rita").status_code == 404
    assert client.get(f"/requests/r-rita/outputs/{TABLE}").status_code in (403, 404)
    own = client.get("/requests/r-sam").text
    assert "decide" not in own and "Release" not in own
    # the checker's view of outputs (statuses, intervals, files) is not for researchers
    assert client.get(f"/requests/r-sam/outputs/{TABLE}").status_code == 403
    assert client.get(f"/requests/r-sam/outputs/{FIGURE}/files/0").status_code == 403
    for rid in ("r-sam", "r-rita"):
        r = client.post(
            f"/requests/{rid}/outputs/{TABLE}/decide", data={"verdict": "approve", "csrf": token}
        )
        assert r.status_code in (403, 404)
        assert client.post(f"/requests/{rid}/release", data={"csrf": token}).status_code == 403
    assert open_request(two / "r-sam").decisions == []


def test_a_researcher_sees_the_decisions_and_comments_on_their_request(two):
    anna = _client(two)
    token = sign_in(anna, "anna")
    anna.post(
        f"/requests/r-sam/outputs/{FIGURE}/decide",
        data={"verdict": "reject", "comment": "one person's age is visible", "csrf": token},
    )
    sam = _client(two)
    sign_in(sam, "sam")
    page = sam.get("/requests/r-sam").text
    assert "one person&#39;s age is visible" in page
    assert "rejected" in page


def test_the_same_checker_cannot_give_both_approvals(two):
    (two / "r-rita" / "request.json").write_text(
        (two / "r-rita" / "request.json").read_text().replace('"checkers": 1', '"checkers": 2')
    )
    enclave_ran(two / "r-rita")  # as if the enclave had written it so
    client = _client(two)
    token = sign_in(client, "anna")
    url = f"/requests/r-rita/outputs/{TABLE}/decide"
    assert (
        client.post(
            url, data={"verdict": "approve", "csrf": token}, follow_redirects=False
        ).status_code
        == 303
    )
    r = client.post(url, data={"verdict": "approve", "csrf": token})
    assert r.status_code == 409 and "already approved" in r.text
    st = open_request(two / "r-rita").output_state(TABLE)
    assert st.state == "partly approved" and st.approvers == ["anna"]


def test_a_rejection_without_a_comment_is_refused_in_the_form(two):
    client = _client(two)
    token = sign_in(client, "anna")
    r = client.post(
        f"/requests/r-rita/outputs/{PSPP}/decide",
        data={"verdict": "reject", "comment": "", "csrf": token},
    )
    assert r.status_code == 400 and "needs a comment" in r.text


def test_names_with_dotdot_never_reach_outside_the_request(two, tmp_path):
    client = _client(two)
    sign_in(client, "anna")
    (two / "secret.txt").write_text("outside")
    for url in [
        "/requests/r-rita/outputs/..%2F..%2Fsecret.txt",
        "/requests/r-rita/outputs/../../secret.txt",
        f"/requests/..%2Fr-rita/outputs/{TABLE}",
        f"/requests/r-rita/outputs/{TABLE}/files/-1",
        f"/requests/r-rita/outputs/{TABLE}/files/99",
    ]:
        r = client.get(url)
        assert r.status_code in (404, 422), url
        assert "outside" not in r.text
    # a request whose file paths leave the directory is not shown, and says why
    bad = make_request(two, "r-bad", seed=4)
    text = (bad / "request.json").read_text()
    (bad / "request.json").write_text(text.replace(f"outputs/{TABLE}.csv", "../secret.txt", 1))
    queue = client.get("/").text
    assert "leaves the request directory" in queue
    assert client.get("/requests/r-bad").status_code == 404


def test_researcher_text_is_escaped_everywhere(two):
    client = _client(two)
    sign_in(client, "anna")
    pages = [
        client.get(u).text
        for u in (
            "/",
            "/requests/r-rita",
            f"/requests/r-rita/outputs/{TABLE}",
            f"/requests/r-rita/outputs/{FIGURE}",
            f"/requests/r-rita/outputs/{PSPP}",
        )
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert" in pages[4]  # the CSV cell, the table title, the code
    r = client.get("/")
    assert "script-src" not in r.headers["content-security-policy"]  # no script at all
    assert r.headers["x-frame-options"] == "DENY"


def test_an_image_is_served_as_an_image_and_anything_else_as_a_download(two):
    client = _client(two)
    sign_in(client, "anna")
    r = client.get(f"/requests/r-rita/outputs/{FIGURE}/files/0")
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    assert "sandbox" in r.headers["content-security-policy"]
    r = client.get(f"/requests/r-rita/outputs/{PSPP}/files/0")
    assert r.headers["content-type"] == "application/octet-stream"
    assert "attachment" in r.headers["content-disposition"]


def test_the_output_page_shows_grid_intervals_rules_twin_and_code(two):
    client = _client(two)
    sign_in(client, "anna")
    html = client.get(f"/requests/r-rita/outputs/{TABLE}").text
    assert 'class="cell cell-primary"' in html and 'class="cell cell-secondary"' in html
    assert 'class="cell cell-safe"' in html
    assert re.search(r'<span class="iv">\[\d+, \d+\]</span>', html)  # intervals under hidden
    assert "fewer than 10 persons" in html  # the reason, on hover and in the list
    assert "Development run r-rita-dev" in html
    assert "min_cell" in html and "approvals needed" in html
    rr = open_request(two / "r-rita")
    assert rr.request.code["code/analysis.py"] in html  # the code's sha256
    assert "matches the copy" in html


def test_guessing_passwords_is_stopped_after_ten_failures(two):
    client = _client(two)
    token = _csrf(client.get("/login").text)
    for _ in range(10):
        r = client.post("/login", data={"name": "anna", "password": "guess", "csrf": token})
        assert r.status_code == 401
        token = _csrf(r.text)
    r = client.post("/login", data={"name": "anna", "password": PASSWORDS["anna"], "csrf": token})
    assert r.status_code == 429  # even the right password, for a while
    assert client.get("/", follow_redirects=False).status_code == 303
    sign_in(client, "bert")  # another name is not affected


def test_requests_for_another_host_name_are_refused(two):
    client = TestClient(
        create_app(two, secret=SECRET, allowed_hosts=["127.0.0.1", "localhost"]),
        base_url="http://127.0.0.1",
    )
    assert client.get("/login").status_code == 200
    assert client.get("/login", headers={"host": "evil.example"}).status_code == 400


def test_actions_are_never_taken_by_a_get_or_a_cross_site_form(two):
    client = _client(two)
    token = sign_in(client, "anna")
    url = f"/requests/r-rita/outputs/{TABLE}/decide"
    assert client.get(f"{url}?verdict=approve&csrf={token}").status_code == 405
    assert client.get(f"/requests/r-rita/release?csrf={token}").status_code == 405
    # a form from another site carries no cookie (SameSite=Strict) and no token
    stranger = _client(two)
    r = stranger.post(url, data={"verdict": "approve", "csrf": token}, follow_redirects=False)
    assert r.status_code == 403
    assert "samesite=strict" in _client(two).get("/login").headers["set-cookie"].lower()
    assert open_request(two / "r-rita").decisions == []


def test_signing_in_again_ends_the_earlier_session(two):
    client = _client(two)
    old_token = sign_in(client, "anna")
    old_cookie = dict(client.cookies)
    sign_in(client, "bert")  # a new session id: a cookie planted or copied before is worthless
    planted = _client(two)
    planted.cookies.update(old_cookie)
    assert planted.get("/", follow_redirects=False).status_code == 303
    url = f"/requests/r-rita/outputs/{TABLE}/decide"
    r = planted.post(url, data={"verdict": "approve", "csrf": old_token}, follow_redirects=False)
    assert r.status_code == 403
    assert open_request(two / "r-rita").decisions == []


def test_a_role_taken_away_takes_effect_in_a_running_session(two):
    from kluis.access import Users

    client = _client(two)
    token = sign_in(client, "anna")
    users = Users()
    users.remove("anna")
    users.add("anna", "researcher", PASSWORDS["anna"])  # the steward changes her role
    url = f"/requests/r-rita/outputs/{TABLE}/decide"
    r = client.post(url, data={"verdict": "approve", "csrf": token}, follow_redirects=False)
    assert r.status_code in (403, 404)  # a researcher: not her project, and no checker
    assert open_request(two / "r-rita").decisions == []
    # the role comes from users.yaml; a form field naming one changes nothing
    r = client.post(
        url, data={"verdict": "approve", "csrf": token, "role": "checker"}, follow_redirects=False
    )
    assert r.status_code in (403, 404)
    assert open_request(two / "r-rita").decisions == []
