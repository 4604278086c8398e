"""The adapter to the disclosure engine: a run's scratch history holds the deliberation's
releases and the run's own records, and a table is protected against both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kluis.deliberation.model import OutputRules
from kluis.disclosure.history import History
from kluis.enclave import checks


def _rows(n: int, drop: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "__pid": np.arange(n),
            "sex": rng.choice(["1", "2"], n),
            "region": rng.choice(["a", "b", "c"], n),
        }
    )
    return frame.iloc[drop:].reset_index(drop=True)


def _table(rows: pd.DataFrame, name: str) -> checks.Protected:
    spec = checks.TableSpec(
        name=name,
        dimensions=[checks.DimensionSpec(column="sex"), checks.DimensionSpec(column="region")],
        person_id="__pid",
        rules=checks.rules_from_deliberation(OutputRules()),
    )
    return checks.protect(rows, spec)


def test_a_table_is_protected_against_the_runs_earlier_table(tmp_path: Path):
    run = checks.RunHistory(tmp_path / "history", tmp_path / "view")
    first = run.protect(_table(_rows(600), "everyone"))
    assert first.ok and not first.hidden.any()
    run.record(first, tmp_path / "req" / "everyone")
    alone = _table(_rows(600, drop=2), "all_but_two")
    assert not alone.hidden.any()  # safe on its own
    second = run.protect(alone)
    # with the first table, every published cell holding one of the two would give them away
    assert second.hidden.any() or not second.ok
    assert all(f["severity"] in ("error", "warning") for f in second.history_findings)


def test_records_are_numbered_after_the_highest_release(tmp_path: Path):
    history = History(tmp_path / "history")
    stage = tmp_path / "stage"
    made = history.add_record(checks.write_record(_table(_rows(300), "t"), stage / "t"))
    made.rename(made.with_name("00003-t"))  # numbers may have gaps
    run = checks.RunHistory(history.path, tmp_path / "view")
    written = run.record(_table(_rows(300), "t"), tmp_path / "req" / "t")
    assert (written / "meta.json").exists()
    assert sorted(p.name for p in (tmp_path / "view").iterdir()) == ["00003-t", "00004-t"]
    # the enclave wrote nothing into the deliberation's history
    assert [p.name for p in history.releases()] == ["00003-t"]
