"""What `kluis enclave run` refuses before any researcher code runs, each refusal logged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kluis.enclave.run as enclave_run_module
from kluis.access import Users, current_account
from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, run_records, write_project

pytestmark = pytest.mark.xdist_group("enclave")

SQL = (
    "-- output: by_sex\n"
    "SELECT sex, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY sex;\n"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("p") / "p", "26/104", {"q.sql": SQL})


def _last_outcome(home: Path) -> dict:
    return run_records(home)[-1]


def test_extract_of_another_deliberation(project, enclave_extracts, enclave_home, tmp_path):
    code, text = enclave_run(project, enclave_extracts["24-074-full"], tmp_path / "r")
    assert code == 1 and "an extract of deliberation 24/074" in text
    assert not (tmp_path / "r").exists()
    outcome = _last_outcome(enclave_home)
    assert outcome["exit_code"] == 1 and outcome["error"] == "Refused"
    assert outcome["deliberation"] == "24/074"


@pytest.mark.parametrize(
    ("today", "why"),
    [("2026-06-16", "takes effect on 2026-06-17"), ("2033-01-01", "retention date 2032-12-31")],
)
def test_deliberation_not_in_force(project, enclave_extracts, enclave_home, tmp_path, today, why):
    extract = enclave_extracts["26-104-full"]
    code, text = enclave_run(project, extract, tmp_path / "r", "--today", today)
    assert code == 1 and why in text, text
    assert _last_outcome(enclave_home)["error"] == "NotInForce"


@pytest.mark.parametrize("damage", ["change", "add", "remove"])
def test_extract_that_does_not_verify(project, enclave_extracts, enclave_home, tmp_path, damage):
    copy = tmp_path / "extract"
    shutil.copytree(enclave_extracts["26-104-full"], copy)
    part = next(copy.glob("table1_next/year=2025/*.parquet"))
    if damage == "change":
        data = bytearray(part.read_bytes())
        data[100] ^= 1
        part.write_bytes(bytes(data))
    elif damage == "add":
        (copy / "table1_next" / "extra.parquet").write_bytes(b"x")
    else:
        part.unlink()
    code, text = enclave_run(project, copy, tmp_path / "r")
    assert code == 1 and "does not verify against its manifest" in text
    assert {"change": "altered", "add": "unlisted", "remove": "missing"}[damage] in text
    assert _last_outcome(enclave_home)["exit_code"] == 1


def test_a_researcher_runs_only_their_own_projects(
    project, enclave_extracts, tmp_path, monkeypatch
):
    users = tmp_path / "users.yaml"
    Users(users).add("mallory", "researcher", password="pw", account=current_account())
    monkeypatch.setenv("KLUIS_USERS", str(users))
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 3 and "mallory is not a researcher of project t" in text


def test_a_checker_may_not_run(project, enclave_extracts, tmp_path, monkeypatch):
    users = tmp_path / "users.yaml"
    Users(users).add("carla", "checker", password="pw", account=current_account())
    monkeypatch.setenv("KLUIS_USERS", str(users))
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 3 and "may not run `kluis enclave run`" in text


def test_an_existing_request_is_never_overwritten(project, enclave_extracts, tmp_path):
    (tmp_path / "r").mkdir()
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 2 and "never overwritten" in text


def test_a_request_inside_the_extract_or_the_project_is_refused(project, enclave_extracts):
    extract = enclave_extracts["26-104-full"]
    for out in (extract / "r", project / "r"):
        code, text = enclave_run(project, extract, out)
        assert code == 2 and "is inside the" in text
        assert not out.exists()


def test_full_phase_without_the_sandbox_is_refused(
    project, enclave_extracts, tmp_path, monkeypatch
):
    monkeypatch.setattr(enclave_run_module, "bwrap_available", lambda: False)
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 1 and "refused without it" in text
    code, text = enclave_run(
        project, enclave_extracts["26-104-full"], tmp_path / "r", "--no-sandbox"
    )
    assert code == 1 and "always runs in the sandbox" in text
    assert not (tmp_path / "r").exists()


def test_development_without_the_sandbox_runs_with_a_warning(
    project, enclave_extracts, tmp_path, monkeypatch
):
    monkeypatch.setattr(enclave_run_module, "bwrap_available", lambda: False)
    code, text = enclave_run(project, enclave_extracts["26-104-development"], tmp_path / "r")
    assert code == 0, text
    assert "NOT sandboxed" in text
    req = load_request(tmp_path / "r")
    assert req.sandbox["isolation"] == "none"
    assert [e["kind"] for e in req.events] == ["warning"]
    assert req.output("by_sex").status in ("safe", "suppressed")
