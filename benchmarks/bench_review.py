"""Review application and release at full-population sizes.

1. The queue page over requests whose history records are national-scale (a members file per
   table, as the enclave writes for 7.5M persons): the first page hashes every file, later
   pages reuse each hash until the file changes.
2. Release and verify of a bundle with a large output, beside the hand-written equivalent
   (`cp` and `sha256sum` of the same files), which is what a release must at least do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REQUESTS = 8
HISTORY_MB = 48  # members of a 7.5M-person table: ~8 bytes per person (Parquet, compressed)
OUTPUT_MB = 200


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grow(d: Path, output: str, rel: str, megabytes: int) -> None:
    """Add a large file to an output of the request (with its hash in request.json)."""
    path = d / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        for _ in range(megabytes):
            fh.write(block)
    data = json.loads((d / "request.json").read_text())
    for o in data["outputs"]:
        if o["name"] == output:
            o["sha256"][rel] = _sha(path)
    (d / "request.json").write_text(json.dumps(data))
    from tests.review_requests import enclave_ran

    enclave_ran(d)  # as the enclave logs the request it wrote


def _setup(root: Path) -> Path:
    home = root / "home"
    os.environ.update(
        KLUIS_HOME=str(home),
        KLUIS_AUDIT_LOG=str(home / "audit.jsonl"),
        KLUIS_USERS=str(home / "users.yaml"),
        KLUIS_KEYSTORE=str(home / "keys"),
    )
    from kluis.access import Users, current_account
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import create_signing_key

    users = Users()
    users.add(current_account(), "steward", "steward-pass")
    users.add("anna", "checker", "anna-pass")
    create_signing_key(KeyStore())
    return root / "requests"


def _queue(requests: Path) -> dict:
    from fastapi.testclient import TestClient

    from kluis.review.web import create_app

    client = TestClient(create_app(requests, secret="b" * 64))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post(
        "/login",
        data={"name": "anna", "password": "anna-pass", "csrf": token},
        follow_redirects=False,  # the first queue page is the one measured
    )
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert client.get("/").status_code == 200
        times.append(time.perf_counter() - t0)
    return {"queue_first_s": times[0], "queue_next_s": min(times[1:])}


def _release(requests: Path, root: Path) -> dict:
    from kluis.access import Users, current_account
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import load_signing_key
    from kluis.release.bundle import release_request
    from kluis.release.verify import verify_bundle
    from kluis.review import decide
    from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, make_request

    d = make_request(requests, "big")
    _grow(d, REGRESSION, "outputs/wage_regression.fit.csv", OUTPUT_MB)
    anna = Users().get("anna")
    for name in (TABLE, FIGURE, REGRESSION):
        decide(d, name, anna, "approve")
    decide(d, PSPP, anna, "reject", "a count of 3")
    key = load_signing_key(KeyStore())
    t0 = time.perf_counter()
    bundle = release_request(d, root / "bundle", Users().by_account(current_account()), key)
    release_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert verify_bundle(bundle, key.public).ok
    verify_s = time.perf_counter() - t0
    # the hand-written equivalent: copy the approved files and hash the copies
    files = [p for p in (d / "outputs").iterdir() if p.name != "crosstabs.csv"]
    target = root / "by-hand"
    target.mkdir()
    t0 = time.perf_counter()
    subprocess.run(["cp", *map(str, files), str(target)], check=True)
    subprocess.run(["sha256sum", *map(str, target.iterdir())], check=True, capture_output=True)
    by_hand_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, target.iterdir())], check=True, capture_output=True)
    sha256sum_s = time.perf_counter() - t0
    return {
        "output_mb": OUTPUT_MB,
        "release_s": release_s,
        "cp_then_sha256sum_s": by_hand_s,
        "verify_s": verify_s,
        "sha256sum_s": sha256sum_s,
    }


def main() -> dict:
    root = Path(tempfile.mkdtemp(prefix="kluis-bench-review-"))
    saved = dict(os.environ)
    try:
        requests = _setup(root)
        from tests.review_requests import TABLE, make_request

        for i in range(REQUESTS):
            d = make_request(requests, f"r{i}", seed=i)
            _grow(d, TABLE, f"internal/history/{TABLE}/members.parquet", HISTORY_MB)
        figures = {"requests": REQUESTS, "history_mb_each": HISTORY_MB, **_queue(requests)}
        figures |= _release(requests, root)
        return figures
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
