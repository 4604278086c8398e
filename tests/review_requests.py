"""Realistic output requests for the review and release tests, written with the request model.

A request holds what an enclave run of a 26/104 project writes: a protected table made by the
real disclosure API (`crosstab` + `write_outputs`) on small data, a regression, a figure for
manual review, a PSPP-like CSV with a small count flagged, and an output the enclave refused.
Researcher-controlled text (project name, notes, code, CSV cells) carries HTML/JS payloads so
every page is tested against them.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kluis.disclosure.api import crosstab, write_outputs
from kluis.disclosure.history import write_record
from kluis.enclave.request import Extract, Output, OutputRequest

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TABLE = "persons_by_province_sex"
TABLE2 = "persons_by_sex_province"  # only with make_request(second_table=True)
FIGURE = "age_figure"
PSPP = "pspp_crosstabs"
REGRESSION = "wage_regression"
REFUSED = "row_level_query"
RULES = {  # as the enclave records them
    "source": "deliberation 26/104 output_rules",
    "output_rules": {
        "min_cell": 10,
        "dominance": {"p": 10.0, "n": 2, "k": 85.0},
        "protection": 0.15,
        "checkers": 1,
    },
    "version": "26/104 output_rules v1",
}
CODE = {
    "analysis.py": (
        "import kluis.safe as safe\n"
        "df = safe.data('table1_next')\n"
        f"# researcher's comment: {XSS}\n"
        f"safe.crosstab(df, 'province', 'sex', name='{TABLE}')\n"
        f"safe.file('age.png', note='{XSS}')\n"
    ),
    "tables.sps": "GET FILE='table1_next.sav'.\nCROSSTABS /TABLES=sex BY province.\n",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashes(d: Path, paths) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """sha256 of every file named, a directory's files each (as the enclave records them)."""
    out = {}
    for rel in paths:
        p = d / rel
        for f in sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]:
            out[f.relative_to(d).as_posix()] = sha(f)
    return out


def enclave_ran(d: Path) -> None:
    """The audit record `kluis enclave run` ends with, naming the request.json it wrote (the
    review honours only requests an enclave run wrote)."""
    from kluis.audit import AuditLog, default_log_path

    AuditLog(default_log_path()).append(
        "enclave run",
        event="end",
        actor="rita",
        account="rita",
        role="researcher",
        request=str(d),
        request_sha256=sha(d / "request.json"),
        exit_code=0,
    )


def png(width: int = 48, height: int = 24) -> bytes:
    """A small gradient PNG (no image library needed)."""
    raw = b"".join(
        b"\x00" + b"".join(bytes(((x * 5) % 256, (y * 10) % 256, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def microdata(seed: int, n: int = 600) -> pd.DataFrame:
    """Persons by province and sex, with a province small enough to need suppression."""
    rng = np.random.default_rng(seed)
    provinces = ["10000", "20001", "30000", "40000", "70000"]
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "province": rng.choice(provinces, size=n, p=[0.4, 0.3, 0.2, 0.08, 0.02]),
            "sex": rng.choice(["1", "2"], size=n),
        }
    )


def _table_output(d: Path, seed: int, name: str = TABLE, without: int = 0) -> Output:
    index, columns = ("province", "sex") if name == TABLE else ("sex", "province")
    data = microdata(seed).iloc[without:]  # `without`: the first persons left out
    pt = crosstab(data, index=index, columns=columns, person="person", name=name)
    public, internal = d / "outputs", d / "internal"
    files = write_outputs(pt.result, public, internal)
    roles = {("output" if role == "table" else role): Path(p) for role, p in files.items()}
    write_record(pt.result, internal / "history" / name)
    roles["history"] = internal / "history" / name  # a directory: the release record
    rel = {role: str(p.relative_to(d)) for role, p in roles.items()}
    return Output(
        name=name,
        kind="table",
        status="suppressed" if pt.result.hidden.any() else "safe",
        reason="cells below 10 persons hidden, with complementary cells",
        source="analysis.py:4",
        files=rel,
        sha256=hashes(d, rel.values()),
        findings=[],
    )


def _regression_output(d: Path, seed: int) -> Output:
    path = d / "outputs" / f"{REGRESSION}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    b = 1.5 + seed / 100
    path.write_text(
        "term,coef,std_err,t,p\n"
        f"Intercept,{b:.4f},0.2100,7.14,0.000\n"
        "sex[T.2],-0.3100,0.0500,-6.20,0.000\n"
        "n_obs,600,,,\ndf_resid,597,,,\n",
        encoding="utf-8",
    )
    rel = str(path.relative_to(d))
    return Output(
        name=REGRESSION,
        kind="regression",
        status="safe",
        reason="residual degrees of freedom 597 >= 10; no saturated model",
        source="analysis.py",
        files={"output": rel},
        sha256={rel: sha(path)},
    )


def _figure_output(d: Path) -> Output:
    path = d / "outputs" / "age.png"
    path.write_bytes(png())
    rel = str(path.relative_to(d))
    return Output(
        name=FIGURE,
        kind="file",
        status="review",
        reason="a file: manual review",
        source="analysis.py:5",
        note=f"age pyramid {XSS}",
        files={"output": rel},
        sha256={rel: sha(path)},
    )


def _pspp_output(d: Path) -> Output:
    path = d / "outputs" / "crosstabs.csv"
    path.write_text(
        "Table: Summary\n"
        "Cases,Valid,Missing\nN,600,0\n\n"
        f"Table: sex × province {XSS}\n"
        f",Antwerp,Hainaut,{XSS}\n"
        "Male,117,3,120\n"
        "Female,133,12,145\n",
        encoding="utf-8",
    )
    rel = str(path.relative_to(d))
    return Output(
        name=PSPP,
        kind="pspp",
        status="review",
        reason="PSPP output: manual review; 1 count below 10 flagged",
        source="tables.sps:2",
        files={"output": rel},
        sha256={rel: sha(path)},
        flagged=[
            {
                "table": f"sex × province {XSS}",
                "row": 1,
                "column": 2,
                "value": 3,
                "reason": "count 3 below the minimum cell of 10",
            }
        ],
    )


def make_request(
    root: Path,
    rid: str = "r-full-1",
    *,
    project: str = f"labour-reserve {XSS}",
    deliberation: str = "26/104",
    phase: str = "full",
    researchers: tuple[str, ...] = ("rita",),
    run_by: str = "rita",
    seed: int = 1,
    rules: dict | None = None,
    created: str = "2026-11-20T10:00:00+00:00",
    logged: bool = True,
    second_table: bool = False,
    without: int = 0,
) -> Path:
    """Write a request directory `root/rid` and return it (with the audit record of the
    enclave run that wrote it, unless `logged` is False)."""
    d = root / rid
    (d / "outputs").mkdir(parents=True)
    (d / "internal").mkdir()
    code = {}
    for name, text in CODE.items():
        (d / "code" / name).parent.mkdir(parents=True, exist_ok=True)
        (d / "code" / name).write_text(text, encoding="utf-8")
        code[f"code/{name}"] = sha(d / "code" / name)  # relative to the request, as the enclave
    (d / "run.log").write_text("run ok\n", encoding="utf-8")
    outputs = [
        _table_output(d, seed, without=without),
        _regression_output(d, seed),
        _figure_output(d),
        _pspp_output(d),
        *([_table_output(d, seed, TABLE2)] if second_table else []),
        Output(
            name=REFUSED,
            kind="sql",
            status="refused",
            reason="row-level query: no GROUP BY aggregate",
            source="analysis.py",
        ),
    ]
    request = OutputRequest(
        id=rid,
        project=project,
        deliberation=deliberation,
        phase=phase,
        researchers=list(researchers),
        run_by=run_by,
        created=created,
        code=code,
        extract=Extract(
            path=f"/srv/extracts/26-104-{phase}", manifest_sha256="ab" * 32, phase=phase
        ),
        rules=rules or dict(RULES),
        environment={"kluis": "0.1.0", "python": "3.11"},
        outputs=outputs,
    )
    (d / "request.json").write_text(request.model_dump_json(indent=1), encoding="utf-8")
    if logged:
        enclave_ran(d)
    return d


# --- fixtures shared by tests/unit/review, tests/unit/release and tests/browser -------------

PASSWORDS = {
    "anna": "anna-pass-1",
    "bert": "bert-pass-2",
    "rita": "rita-pass-3",
    "sam": "sam-pass-4",
}
ROLES = {"anna": "checker", "bert": "checker", "rita": "researcher", "sam": "researcher"}


@pytest.fixture(scope="session")
def _users_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The users file, hashed once per test process (argon2 is slow on purpose)."""
    from kluis.access import Users, current_account

    path = tmp_path_factory.mktemp("review-users") / "users.yaml"
    users = Users(path)
    users.add(current_account(), "steward", "steward-pass-0")
    for name, role in ROLES.items():
        users.add(name, role, PASSWORDS[name])
    return path


@pytest.fixture
def review_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _users_template: Path) -> Path:
    """A fresh KLUIS_HOME with its own audit log, users (the OS account is the steward; anna and
    bert are checkers; rita and sam researchers), key store with a release key; returns the
    directory of output requests (empty)."""
    from kluis.pseudonym.keystore import KeyStore
    from kluis.pseudonym.signing import create_signing_key

    home = tmp_path / "home"
    home.mkdir()
    users = home / "users.yaml"
    users.write_bytes(_users_template.read_bytes())
    users.chmod(0o600)
    monkeypatch.setenv("KLUIS_HOME", str(home))
    monkeypatch.setenv("KLUIS_AUDIT_LOG", str(home / "audit.jsonl"))
    monkeypatch.setenv("KLUIS_USERS", str(users))
    monkeypatch.setenv("KLUIS_KEYSTORE", str(home / "keys"))
    create_signing_key(KeyStore())
    requests = tmp_path / "requests"
    requests.mkdir()
    return requests


def user(name: str):  # type: ignore[no-untyped-def]
    from kluis.access import Users

    found = Users().get(name)
    assert found is not None, name
    return found
