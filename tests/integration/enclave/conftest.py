"""Small extracts of both deliberations and both phases, built once from the `small_warehouse`
fixture, and a private KLUIS_HOME so no other test's release history reaches these runs."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kluis.cli import app

TODAY = "2026-11-22"
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def enclave_extracts(small_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """{'26-104-full': Path, '26-104-development': ..., '24-074-...': ..., 'keys': Path}"""
    from kluis.extract.run import run_extract
    from kluis.pseudonym import KeyStore
    from kluis.warehouse.nbb import generate_nbb_list

    root = tmp_path_factory.mktemp("enclave-extracts")
    keys = root / "keys"
    store = KeyStore(keys)
    store.create("26/104")
    store.create("24/074")
    nbb = root / "nbb.csv"
    generate_nbb_list(small_warehouse, nbb)
    out: dict[str, Path] = {"keys": keys, "warehouse": small_warehouse}
    for slug, inputs in (("26-104", {}), ("24-074", {"enterprises": nbb})):
        for phase in ("full", "development"):
            target = root / f"{slug}-{phase}"
            run_extract(
                ROOT / "deliberations" / f"{slug}.yaml",
                small_warehouse,
                phase,
                target,
                keystore=keys,
                today=dt.date.fromisoformat(TODAY),
                inputs=inputs,
            )
            out[f"{slug}-{phase}"] = target
    return out


@pytest.fixture(scope="module")
def enclave_home(tmp_path_factory: pytest.TempPathFactory):
    """A fresh KLUIS_HOME for one module: the session's users (the test account is the steward)
    and deliberation registry, and no release history of other tests."""
    home = tmp_path_factory.mktemp("enclave-home")
    session = Path(os.environ["KLUIS_HOME"])
    shutil.copy(session / "users.yaml", home / "users.yaml")
    shutil.copytree(session / "deliberations", home / "deliberations")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KLUIS_HOME", str(home))
        mp.setenv("KLUIS_AUDIT_LOG", str(home / "audit.jsonl"))
        yield home


def enclave_run(project: Path, extract: Path, out: Path, *extra: str) -> tuple[int, str]:
    """`kluis enclave run` through the real CLI (audit log, error handling and exit codes)."""
    result = CliRunner().invoke(
        app,
        [
            "enclave",
            "run",
            str(project),
            "--extract",
            str(extract),
            "--out",
            str(out),
            "--today",
            TODAY,
            *extra,
        ],
    )
    return result.exit_code, result.output


def run_records(home: Path) -> list[dict]:
    """The end record of every `kluis enclave run` in the audit log: its details, and the
    deliberation the log keeps beside them."""
    import json

    records = [json.loads(x) for x in (home / "audit.jsonl").read_text().splitlines()]
    return [
        {**r["details"], "deliberation": r.get("deliberation")}
        for r in records
        if r.get("action") == "enclave run" and r.get("event") == "end"
    ]


def write_project(root: Path, deliberation: str, files: dict[str, str], name: str = "t") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    entries = ", ".join(files)
    (root / "project.yaml").write_text(
        f"name: {name}\ndeliberation: {deliberation}\nresearchers: [tester]\nentry: [{entries}]\n"
    )
    for rel, text in files.items():
        (root / rel).write_text(text)
    return root
