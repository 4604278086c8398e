"""`make demo` end to end at a tiny scale: every step of the path, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kluis import demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.xdist_group("demo")
def test_demo_runs_the_whole_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the demo names deliberations/ relative to the checkout
    out = tmp_path / "demo"
    demo.main(["--out", str(out), "--persons", "2000", "--seed", "5"])

    # the demo ran in a kluis home of its own, and its audit trail verified at the end
    from kluis.audit import AuditLog

    ends = [r for r in AuditLog(out / "home" / "audit.jsonl").entries() if r["event"] == "end"]
    assert ends[0]["action"] == "users add" and ends[0]["role"] == "steward"
    assert [r["action"] for r in ends[-2:]] == ["audit verify", "retention status"]
    assert all(r["details"]["exit_code"] == 0 for r in ends)

    assert sorted(p.name for p in (out / "profile").glob("*.png"))
    for name in ("26-104-development", "26-104-full", "24-074-development", "24-074-full"):
        manifest = json.loads((out / "extracts" / name / "manifest.json").read_text())
        assert manifest["rows"], name
    assert list((out / "extracts" / "26-104-development" / "sav").glob("*.sav"))

    internal, public = out / "disclosure" / "internal", out / "disclosure" / "public"
    index = (internal / "index.html").read_text()
    for table in ("persons_province_sex_sep", "jobseekers_province_months_unemployed"):
        assert table in index
        status = pd.read_csv(internal / f"{table}.internal-status.csv")
        published = pd.read_csv(public / f"{table}.csv")
        hidden = status["status"].isin(["primary", "secondary"])
        # a tiny population has small cells: they are found and none of them is published
        assert hidden.any()
        assert published.loc[hidden.to_numpy(), "persons"].isna().all()
        # the attacker's audit: no unsafe cell can be pinned down from what is published
        primary = status[status["status"] == "primary"]
        assert (primary["count_attacker_high"] > primary["count_attacker_low"]).all()
        report = (internal / f"{table}.internal-report.html").read_text()
        assert "0 cell(s) below their" in report
        assert "May be released" in report
