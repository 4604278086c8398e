"""A release killed at any step (os._exit, no cleanup: as kill -9) is finished by the next run:
one bundle, recorded once, verifying; nothing half-published."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.bundle import JOURNAL, release_request
from kluis.release.verify import verify_bundle
from kluis.review import decide, open_request
from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, make_request, user

DRIVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from kluis.access import Users, current_account
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import load_signing_key
    import kluis.release.bundle as bundle

    where, when = sys.argv[3], sys.argv[4]
    original = getattr(bundle, where)

    def crashing(*args, **kwargs):
        if when == "before":
            os._exit(9)
        result = original(*args, **kwargs)
        os._exit(9)

    setattr(bundle, where, crashing)
    user = Users().by_account(current_account())
    bundle.release_request(Path(sys.argv[1]), Path(sys.argv[2]), user,
                           load_signing_key(KeyStore()))
    """
)


def _approved(requests):
    d = make_request(requests)
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "reject", "no")
    decide(d, PSPP, user("anna"), "reject", "no")
    return d


@pytest.mark.parametrize(
    "where, when",
    [
        ("_copy", "after"),  # staging half built
        ("add_to_history", "after"),  # history recorded, bundle not published
        ("publish_dir", "after"),  # bundle published, release not recorded
        ("_record", "before"),
    ],
)
def test_a_killed_release_is_finished_by_the_next_run(review_env, tmp_path, where, when):
    d = _approved(review_env)
    out = tmp_path / "bundle"
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(d), str(out), where, when],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 9, run.stderr
    assert open_request(d).state == "approved"  # not recorded as released yet
    published = out.exists()
    again = tmp_path / "bundle-again"
    key = load_signing_key(KeyStore())
    from kluis.access import current_account

    result = release_request(d, again, user(current_account()), key)
    assert result == (out if published else again)  # a published bundle is recorded, not remade
    assert verify_bundle(result, key.public).ok
    rr = open_request(d)
    assert rr.state == "released" and len(rr.releases) == 1
    assert rr.releases[0].bundle == str(result)
    assert not (d / JOURNAL).exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [] or all(".lock" in n for n in leftovers), leftovers
    if not published:
        assert not out.exists()
