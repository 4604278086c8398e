"""Fixtures shared by every test layer: a small generated warehouse and one Spark session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

SMALL_PERSONS = 3_000
SMALL_YEARS = (2003, 2026)
SMALL_SEED = 7


@pytest.fixture(scope="session")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated warehouse (~3,000 residents aged 15-64 a year, 2003-2026), built once per
    test process and treated as read-only by every test."""
    from kluis.warehouse.generate import generate_warehouse

    out = tmp_path_factory.mktemp("warehouse") / "wh"
    generate_warehouse(out, persons=SMALL_PERSONS, years=SMALL_YEARS, seed=SMALL_SEED)
    return out


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session for all Spark tests (start-up costs ~10 s)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("kluis-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="session")
def _kluis_home_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """CLI calls in tests keep their state (audit log, keys, users, catalogue) in a temporary
    KLUIS_HOME, never in the user's home."""
    from kluis.access import Users, current_account

    home = tmp_path_factory.mktemp("kluis-home")
    os.environ["KLUIS_HOME"] = str(home)
    os.environ["KLUIS_AUDIT_LOG"] = str(home / "audit.jsonl")
    # the account running the tests is the steward; role tests write users files of their own
    Users(home / "users.yaml").add(current_account(), "steward", password="steward-password")
    # the registry of deliberations (which ends which): the shipped files, as `make demo` does
    registry = home / "deliberations"
    registry.mkdir()
    for file in sorted((Path(__file__).resolve().parents[1] / "deliberations").glob("*.yaml")):
        shutil.copyfile(file, registry / file.name)
    # the steward's signing key, as `kluis keys release-key` makes it (its creation certified)
    from kluis.access.signing import create
    from kluis.audit import AuditLog

    key = create(home / "keys")
    log = AuditLog(home / "audit.jsonl")
    log.append("keys release-key", event="event", fingerprint=key.fingerprint)
    log.checkpoint(key, reason="signing key created")
