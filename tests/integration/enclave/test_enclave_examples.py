"""End to end: both example projects, unchanged, on the development and the full extract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kluis.audit.catalogue import entries
from kluis.enclave.outputs import sha256_of
from kluis.enclave.request import load_request, resolve
from tests.integration.enclave.conftest import EXAMPLES, enclave_run, run_records

pytestmark = pytest.mark.xdist_group("enclave")

CASES = [
    ("26-104-labour-reserve", "26-104", "full"),
    ("26-104-labour-reserve", "26-104", "development"),
    ("24-074-education-by-sector", "24-074", "full"),
    ("24-074-education-by-sector", "24-074", "development"),
]


@pytest.fixture(scope="module")
def requests(enclave_extracts, enclave_home, tmp_path_factory) -> dict:
    out = {}
    root = tmp_path_factory.mktemp("example-requests")
    for project, slug, phase in CASES:
        target = root / f"{project}-{phase}"
        code, text = enclave_run(EXAMPLES / project, enclave_extracts[f"{slug}-{phase}"], target)
        out[(project, phase)] = (code, text, target)
    return out


@pytest.mark.parametrize(("project", "slug", "phase"), CASES)
def test_example_runs_unchanged_on_both_phases(requests, project, slug, phase):
    code, text, target = requests[(project, phase)]
    assert code == 0, text
    req = load_request(target)
    assert req.phase == phase and req.deliberation == slug.replace("-", "/")
    assert req.sandbox["isolation"] == "bwrap" and req.events == []
    kinds = {o.kind for o in req.outputs}
    assert {"table", "sql", "pspp"} <= kinds
    assert all(o.status in ("safe", "suppressed", "review") for o in req.outputs), text
    assert all(o.status == "review" for o in req.outputs if o.kind == "pspp")
    # the code that ran is the project's, byte for byte
    for rel, digest in req.code.items():
        assert sha256_of(EXAMPLES / project / rel.removeprefix("code/")) == digest
        assert sha256_of(target / rel) == digest
    assert req.rules["output_rules"]["min_cell"] == 10
    assert set(req.environment) >= {"kluis", "python", "pspp", "bwrap"}


@pytest.mark.parametrize(("project", "slug", "phase"), CASES)
def test_every_file_is_hashed_and_nothing_internal_is_in_outputs(requests, project, slug, phase):
    _, _, target = requests[(project, phase)]
    req = load_request(target)
    listed = set()
    for o in req.outputs:
        for rel, digest in o.sha256.items():
            assert sha256_of(resolve(target, rel)) == digest
            listed.add(rel)
        for role, rel in o.files.items():
            assert rel.startswith("outputs/") == (role in ("output", "fit", "html")), (role, rel)
    on_disk = {p.relative_to(target).as_posix() for p in (target / "outputs").rglob("*")}
    assert on_disk <= listed
    for p in (target / "outputs").glob("*.csv"):
        header = p.read_text().splitlines()[0].split(",")
        assert not {"person_id", "employer_id", "__pid"} & set(header)
    for o in req.outputs:
        if o.kind not in ("table", "sql", "histogram") or "output" not in o.files:
            continue
        frame = pd.read_csv(target / o.files["output"], dtype=str)
        assert not {"person_id", "employer_id", "__pid"} & set(frame.columns)
        if "status" in frame:  # tables: published or suppressed, never which hidden cell is small
            assert set(frame["status"]) <= {"published", "suppressed"}


def test_python_and_sql_give_the_same_tables(requests):
    _, _, t26 = requests[("26-104-labour-reserve", "full")]
    assert (t26 / "outputs/transitions_t_t1.csv").read_bytes() == (
        t26 / "outputs/transitions_sql.csv"
    ).read_bytes()
    _, _, t24 = requests[("24-074-education-by-sector", "full")]
    py = pd.read_csv(t24 / "outputs/employees_isced_group_2015_2021.csv", dtype=str)
    sql = pd.read_csv(t24 / "outputs/employees_isced_group_sql.csv", dtype=str)
    pd.testing.assert_frame_equal(py, sql)
    assert list(py.columns) == ["isced", "group", "employees", "status"]


def test_requests_are_catalogued_and_audited(requests, enclave_home):
    catalogued = {Path(e.path) for e in entries() if e.kind == "request"}
    assert {target for _, _, target in requests.values()} <= catalogued
    ran = [d for d in run_records(enclave_home) if d.get("request")]
    assert len(ran) == len(CASES)
    for d in ran:
        assert d["exit_code"] == 0 and len(d["extract_manifest_sha256"]) == 64
        assert sha256_of(Path(d["request"]) / "request.json") == d["request_sha256"]
