"""The review application in a real browser (Debian's chromium driven by Playwright): two
checkers sign in, look at the grid and the intervals, approve and reject, and release."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.verify import verify_bundle
from tests.review_requests import FIGURE, PASSWORDS, PSPP, REGRESSION, TABLE, make_request

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.xdist_group("browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(review_env, tmp_path) -> Iterator[tuple[str, Path, Path]]:
    """The application on a free port over a 26/104 request that needs two checkers (and its
    development run); yields (base url, request dir, releases dir)."""
    import uvicorn

    from kluis.release.cli import web_releaser
    from kluis.review.web import create_app

    request = make_request(
        review_env, "r-full", rules={"output_rules": {"min_cell": 10, "checkers": 2}}
    )
    make_request(
        review_env, "r-dev", phase="development", seed=2, created="2026-11-01T09:00:00+00:00"
    )
    releases = tmp_path / "releases"
    app = create_app(review_env, secret="b" * 64, releaser=web_releaser(releases, None))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the application did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", request, releases
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: run `make system`")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(120_000)  # the machine may be busy: wait, do not fail
        yield context
        context.close()


def sign_in(page, base: str, name: str) -> None:
    page.goto(base + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    assert page.locator(".who .user").inner_text().startswith(name)


def decide(page, base: str, output: str, verdict: str, comment: str = "") -> None:
    page.goto(f"{base}/requests/r-full/outputs/{output}")
    if comment:
        page.fill("textarea[name=comment]", comment)
    page.click(f"button[value={verdict}]")


def sign_out(page) -> None:
    page.click("text=Sign out")
    assert page.url.endswith("/login")


def _rgb(page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")


def test_two_checkers_review_and_release(served, browser):
    base, request, releases = served
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))  # an XSS would alert

    sign_in(page, base, "anna")
    row = page.locator("tr", has_text="r-full")
    assert row.locator(".state").inner_text() == "waiting"
    page.click("text=r-full")
    page.click(f"text={TABLE}")

    # the grid: cells coloured by status, reason on hover, intervals under hidden cells
    primary, secondary, safe = "td.cell-primary", "td.cell-secondary", "td.cell-safe"
    assert page.locator(primary).count() >= 2 and page.locator(secondary).count() >= 1
    colours = {_rgb(page, primary), _rgb(page, secondary), _rgb(page, safe)}
    assert len(colours) == 3  # three different colours
    assert "fewer than 10 persons" in page.locator(primary).first.get_attribute("title")
    interval = page.locator(f"{primary} .iv").first.inner_text()
    assert interval.startswith("[") and interval.endswith("]")
    assert page.locator("text=Development run r-dev").count() == 1

    decide(page, base, TABLE, "approve")
    assert "Approved" in page.locator(".flash").inner_text()
    assert "1 / 2 approvals" in page.locator("section.decide h2").inner_text()
    # no second approval by the same checker: the button is gone (and the server refuses it,
    # see tests/unit/review/test_review_web.py)
    assert page.locator("button[value=approve]").count() == 0
    assert "waits for another checker" in page.locator("section.decide").inner_text()
    decide(page, base, FIGURE, "approve")
    figure = page.locator("img.figure").first
    # the page may be shown before the picture has arrived: wait until the browser is done with
    # it (loaded or broken), then it must have loaded
    figure.evaluate(
        "e => e.complete ? null : new Promise(done => { e.onload = e.onerror = done; })"
    )
    assert figure.evaluate("e => e.naturalWidth") > 0
    decide(page, base, REGRESSION, "approve")
    decide(page, base, PSPP, "reject")  # no comment: refused
    assert "needs a comment" in page.locator("#decision-error").inner_text()
    decide(page, base, PSPP, "reject", "a count of 3 in Hainaut")
    assert page.locator(".decision-reject .comment").inner_text() == "a count of 3 in Hainaut"
    flagged = page.locator("td.cell-review")
    assert flagged.count() == 2  # this run and, beside it, the development run
    assert flagged.first.inner_text() == "3"
    sign_out(page)

    sign_in(page, base, "bert")
    assert page.locator("tr", has_text="r-full").locator(".state").inner_text() == (
        "partly reviewed"
    )
    for output in (TABLE, FIGURE, REGRESSION):
        decide(page, base, output, "approve")
    page.goto(f"{base}/requests/r-full")
    assert page.locator("h1 .state").inner_text() == "approved"
    page.click("text=Release the approved outputs")
    assert "Released to" in page.locator(".flash").inner_text()
    assert page.locator("h1 .state").inner_text() == "released"
    assert errors == []

    bundle = releases / "r-full"
    v = verify_bundle(bundle, load_signing_key(KeyStore()).public)
    assert v.ok, v.problems
    manifest = json.loads((bundle / "release.json").read_text())
    assert {o["name"] for o in manifest["outputs"]} == {TABLE, FIGURE, REGRESSION}
    assert manifest["checkers"] == ["anna", "bert"]
    assert all(len(o["decisions"]) == 2 for o in manifest["outputs"])


def test_a_researcher_sees_decisions_but_cannot_decide(served, browser):
    base, request, _ = served
    from kluis.review import decide as decide_output
    from tests.review_requests import user

    decide_output(request, PSPP, user("anna"), "reject", "<b>bold</b> count of 3")
    page = browser.new_page()
    sign_in(page, base, "rita")
    page.click("text=r-full")
    assert page.locator(".decision-reject .comment").inner_text() == "<b>bold</b> count of 3"
    assert page.locator("a", has_text=TABLE).count() == 0  # no checker's view
    page.goto(f"{base}/requests/r-full/outputs/{TABLE}")
    assert "Refused" in page.content()
