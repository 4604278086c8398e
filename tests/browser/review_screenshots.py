"""Screenshots of the review application for docs/review.md (queue and an output page).

    .venv/bin/python -m tests.browser.review_screenshots [--requests demo-out/requests]
        [--request ID --output NAME] [--out docs]

Works on a copy of the requests in a temporary KLUIS_HOME with two checkers, so nothing of the
real installation is touched. Without --requests it shows the test suite's requests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from tests.browser.test_review_browser import ARGS, CHROMIUM


def _serve(app):  # type: ignore[no-untyped-def]
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=Path)
    parser.add_argument("--request", help="request id of the output page (default: newest full)")
    parser.add_argument("--output", help="output name (default: its first table)")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kluis-shots-"))
    os.environ.update(
        KLUIS_HOME=str(work / "home"),
        KLUIS_AUDIT_LOG=str(work / "home" / "audit.jsonl"),
        KLUIS_USERS=str(work / "home" / "users.yaml"),
    )
    from playwright.sync_api import sync_playwright

    from kluis.access import Users
    from kluis.review.store import ReviewRequest, find_requests
    from kluis.review.web import create_app
    from tests.review_requests import PASSWORDS, make_request

    users = Users()
    for name in ("anna", "bert"):
        users.add(name, "checker", PASSWORDS[name])
    requests = work / "requests"
    if args.requests:
        shutil.copytree(args.requests, requests)
    else:
        make_request(requests, "r-full-2", project="labour-reserve", seed=1)
        make_request(
            requests,
            "r-dev-1",
            project="labour-reserve",
            phase="development",
            seed=2,
            created="2026-11-01T09:00:00+00:00",
        )
    found = [r for r in find_requests(requests) if isinstance(r, ReviewRequest)]
    rr = next(
        r
        for r in found
        if args.request in (None, r.id)
        and r.request.phase == "full"
        and (args.output is None or args.output in r.states)
    )
    output = args.output or next(
        (o.name for o in rr.request.outputs if o.files.get("status")), rr.request.outputs[0].name
    )
    from kluis.review import decide

    for other in found:  # a queue in mid-review: one output of each other full run approved
        if other.request.phase == "full" and other.id != rr.id:
            first = next(n for n, st in other.states.items() if st.state == "waiting")
            decide(other.path, first, users.get("bert"), "approve", "checked")
    server, base = _serve(create_app(requests, secret="x" * 64))
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(work / "profile"),
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": 1360, "height": 400},
                device_scale_factor=1,
            )
            page = context.new_page()
            page.goto(base + "/login")
            page.fill("input[name=name]", "anna")
            page.fill("input[name=password]", PASSWORDS["anna"])
            page.click("button[type=submit]")
            page.screenshot(path=str(args.out / "review-queue.png"), full_page=True)
            page.goto(f"{base}/requests/{rr.id}/outputs/{output}")
            page.screenshot(path=str(args.out / "review-output.png"), full_page=True)
            context.close()
    finally:
        server.should_exit = True
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out / 'review-queue.png'} and {args.out / 'review-output.png'}")


if __name__ == "__main__":
    main()
