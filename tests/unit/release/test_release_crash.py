"""A release killed at any step (os._exit, no cleanup: as kill -9) is finished by the next run:
one bundle, recorded once, verifying; nothing half-published."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from kluis.disclosure.history import History
from kluis.pseudonym.keystore import KeyStore
from kluis.pseudonym.signing import load_signing_key
from kluis.release.bundle import JOURNAL, release_request
from kluis.release.history import history_dir
from kluis.release.verify import verify_bundle
from kluis.review import decide, open_request
from tests.review_requests import FIGURE, PSPP, REGRESSION, TABLE, TABLE2, make_request, user

DRIVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from kluis.access import Users, current_account
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import load_signing_key
    import kluis.release.bundle as bundle

    where, when = sys.argv[3], sys.argv[4]
    owner = bundle
    nth = 2 if where == "add_record2" else 1  # the second table of a release
    where = where.rstrip("2")
    if where == "add_record":  # inside the history: the record in place, the journal not told
        from kluis.disclosure.history import History as owner
    original = getattr(owner, where, None)
    calls = []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) < nth:
            return original(*args, **kwargs)
        if when == "before":
            os._exit(9)
        result = original(*args, **kwargs)
        os._exit(9)

    if where != "none":
        setattr(owner, where, crashing)
    user = Users().by_account(current_account())
    bundle.release_request(Path(sys.argv[1]), Path(sys.argv[2]), user,
                           load_signing_key(KeyStore()))
    """
)


def _approved(requests, second_table=False):
    d = make_request(requests, second_table=second_table)
    if second_table:
        decide(d, TABLE2, user("anna"), "approve")
    decide(d, TABLE, user("anna"), "approve")
    decide(d, FIGURE, user("anna"), "approve")
    decide(d, REGRESSION, user("anna"), "reject", "no")
    decide(d, PSPP, user("anna"), "reject", "no")
    return d


def _recorded_once(bundle, tables=(TABLE,)) -> None:  # type: ignore[no-untyped-def]
    """The released tables are in the deliberation's history exactly once, and nothing else."""
    entries = History(history_dir("26/104")).releases()
    assert sorted(e.name.split("-", 1)[1] for e in entries) == sorted(tables)
    released = {o["name"] for o in json.loads((bundle / "release.json").read_text())["outputs"]}
    assert set(tables) <= released


@pytest.mark.parametrize(
    "where, when",
    [
        ("_copy", "after"),  # staging half built
        ("add_record", "after"),  # a record in the history, the release's journal not told
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
    _recorded_once(result)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [] or all(".lock" in n for n in leftovers), leftovers
    if not published:
        assert not out.exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_never_publishes_unrecorded_or_records_twice(
    review_env, tmp_path, seed
):
    """A real SIGKILL somewhere in a release (or after it): whatever state it leaves, a
    published bundle's tables are in the history, and the next run finishes with one bundle
    and one history entry."""
    d = _approved(review_env)
    out = tmp_path / "bundle"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(d), str(out), "none", "none"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watched = [d / JOURNAL, out]
    # wait until the release has begun (its journal or the bundle appears), then kill it a
    # little later: a random moment of the release itself, not of Python's start-up
    deadline = 120.0
    while proc.poll() is None and deadline > 0 and not any(p.exists() for p in watched):
        deadline -= 0.005
        import time

        time.sleep(0.005)
    time.sleep(random.Random(seed).uniform(0.0, 0.25))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    if out.exists():  # published: then its tables are recorded already
        assert len(History(history_dir("26/104")).releases()) == 1
    from kluis.access import current_account

    key = load_signing_key(KeyStore())
    result = (
        release_request(d, tmp_path / "again", user(current_account()), key)
        if open_request(d).state != "released"
        else out
    )
    assert verify_bundle(result, key.public).ok
    assert open_request(d).state == "released" and len(open_request(d).releases) == 1
    _recorded_once(result)
    assert not (out.exists() and (tmp_path / "again").exists())


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_release_of_two_tables_killed_at_the_second_records_each_once(review_env, tmp_path, when):
    d = _approved(review_env, second_table=True)
    out = tmp_path / "bundle"
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(d), str(out), "add_record2", when],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 9, run.stderr
    assert not out.exists()  # the bundle never appears before every table is recorded
    recorded = len(History(history_dir("26/104")).releases())
    assert recorded == (1 if when == "before" else 2)
    from kluis.access import current_account

    key = load_signing_key(KeyStore())
    result = release_request(d, tmp_path / "again", user(current_account()), key)
    assert verify_bundle(result, key.public).ok
    _recorded_once(result, (TABLE, TABLE2))
