"""The demo's review stage: two checkers, one verified bundle per example project."""

from __future__ import annotations

import json

from rich.console import Console

from kluis.demo.context import Demo
from kluis.demo.review import CHECKERS, run
from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.verify import verify_bundle
from kluis.review import open_request
from tests.review_requests import PSPP, REFUSED, TABLE, make_request


def test_the_stage_reviews_releases_and_verifies_one_bundle_per_project(review_env, tmp_path):
    out = tmp_path / "demo-out"
    requests = out / "requests"
    requests.mkdir(parents=True)
    a = make_request(requests, "labour-full", project="labour-reserve")
    make_request(
        requests,
        "labour-dev",
        project="labour-reserve",
        phase="development",
        created="2026-11-01T00:00:00+00:00",
    )
    b = make_request(
        requests, "automation-full", project="automation", deliberation="24/074", seed=9
    )
    console = Console(record=True, width=200)
    where = run(Demo(out=out, persons=0, seed=0, console=console))
    text = console.export_text()
    bundles = sorted(p.name for p in (out / "releases").iterdir())
    assert bundles == ["24-074-automation", "26-104-labour-reserve"]
    for d, needed in ((a, 2), (b, 1)):  # 26/104 shown with two checkers, 24/074 with one
        rr = open_request(d)
        assert rr.state == "released"
        assert len(rr.output_state(TABLE).approvals) == needed
        assert rr.output_state(PSPP).state == "rejected"  # the flagged count of 3
        assert rr.output_state(REFUSED).state == "refused"
    manifest = json.loads((out / "releases" / "26-104-labour-reserve" / "release.json").read_text())
    assert manifest["checkers"] == sorted(CHECKERS)
    assert open_request(requests / "labour-dev").state == "waiting"  # not released
    key = load_signing_key(KeyStore())
    for bundle in (out / "releases").iterdir():
        assert verify_bundle(bundle, key.public).ok
    assert "kluis release verify" in text
    assert any("kluis review serve --requests" in line for line in where)
    assert all(password in where[-1] for password in CHECKERS.values())
