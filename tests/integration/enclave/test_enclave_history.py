"""Tables that are safe alone but revealing together: two outputs of one run, and an output
against the deliberation's release history. The enclave protects (hides more) or refuses, and
what leaves from both never lets a cell be differenced down to fewer than the minimum."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kluis.disclosure.history import History
from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")

MIN_CELL = 10


def _third_person(extract: Path) -> int:
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    return duckdb.sql(
        f"SELECT person_id FROM read_parquet('{glob}') ORDER BY 1 LIMIT 1 OFFSET 2"
    ).fetchall()[0][0]


def _query(name: str, cut: int | None) -> str:
    where = "year = 2025" + (f" AND person_id > {cut}" if cut is not None else "")
    return (
        f"-- output: {name}\n"
        f"SELECT sex, province, count(*) AS persons FROM table1_next WHERE {where} GROUP BY ALL;\n"
    )


def _public(request: Path, name: str) -> pd.DataFrame:
    out = load_request(request).output(name)
    return pd.read_csv(request / out.files["output"], dtype={"province": str, "sex": str})


def _no_small_difference(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Every cell published in both tables differs by 0 or by at least the minimum."""
    both = a.merge(b, on=["sex", "province"], suffixes=("_a", "_b"))
    assert len(both) == len(a) == len(b)
    shown = both.dropna(subset=["persons_a", "persons_b"])
    diff = (shown["persons_a"] - shown["persons_b"]).abs()
    assert ((diff == 0) | (diff >= MIN_CELL)).all(), shown[(diff > 0) & (diff < MIN_CELL)]


@pytest.fixture(scope="module")
def cut(enclave_extracts) -> int:
    return _third_person(enclave_extracts["26-104-full"])


def test_two_outputs_of_one_run_cannot_difference_each_other(
    enclave_extracts, enclave_home, tmp_path, cut
):
    sql = _query("everyone", None) + _query("all_but_three", cut)
    project = write_project(tmp_path / "p", "26/104", {"t.sql": sql})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    first, second = req.output("everyone"), req.output("all_but_three")
    assert first.status in ("safe", "suppressed"), first.reason
    # the second differs from the first by three persons: it is protected or refused
    assert second.status in ("suppressed", "refused"), second.reason
    assert second.findings or "earlier releases" in second.reason
    if second.status == "suppressed":
        _no_small_difference(
            _public(tmp_path / "r", "everyone"), _public(tmp_path / "r", "all_but_three")
        )
        assert (tmp_path / "r" / second.files["history"] / "meta.json").exists()
    else:
        assert "output" not in second.files and "history" not in second.files


def test_alone_the_same_table_passes(enclave_extracts, enclave_home, tmp_path, cut):
    """The control: without the first table the second one is not held back by any history."""
    project = write_project(tmp_path / "p", "26/104", {"t.sql": _query("all_but_three", cut)})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    out = load_request(tmp_path / "r").output("all_but_three")
    assert out.status in ("safe", "suppressed") and not out.findings, out
    assert "earlier releases" not in out.reason


def test_an_output_is_audited_against_the_deliberations_history(
    enclave_extracts, enclave_home, tmp_path, cut
):
    extract = enclave_extracts["26-104-full"]
    history = History(enclave_home / "history" / "26-104")
    first = write_project(tmp_path / "a", "26/104", {"t.sql": _query("everyone", None)})
    code, text = enclave_run(first, extract, tmp_path / "ra")
    assert code == 0, text
    released = load_request(tmp_path / "ra").output("everyone")
    # the release (kluis.release) adds the approved table's record to the history
    history.add_record(tmp_path / "ra" / released.files["history"])
    try:
        second = write_project(tmp_path / "b", "26/104", {"t.sql": _query("all_but_three", cut)})
        code, text = enclave_run(second, extract, tmp_path / "rb")
        assert code == 0, text
        out = load_request(tmp_path / "rb").output("all_but_three")
        assert out.status in ("suppressed", "refused"), out.reason
        if out.status == "suppressed":
            _no_small_difference(
                _public(tmp_path / "ra", "everyone"), _public(tmp_path / "rb", "all_but_three")
            )
        # the enclave records nothing in the history itself: only the one release is there
        assert len(history.releases()) == 1
    finally:
        for rel in history.releases():
            import shutil

            shutil.rmtree(rel)


def test_a_mean_over_all_but_three_workers_stays_hidden(enclave_extracts, enclave_home, tmp_path):
    """describe() publishes means: over two populations that differ by three persons they
    would give those persons' values away, so the second mean (and std) stays hidden."""
    extract = enclave_extracts["26-104-full"]
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    cut = duckdb.sql(
        f"SELECT person_id FROM read_parquet('{glob}') WHERE daily_wage_decile IS NOT NULL "
        "ORDER BY 1 LIMIT 1 OFFSET 2"
    ).fetchall()[0][0]
    code = (
        "import kluis.safe as safe\n"
        "t = safe.data('table1_next')\n"
        "y = t.filter(t.year == 2025)\n"
        "w = y.filter(y.daily_wage_decile.notnull()).mutate(\n"
        "    decile=y.daily_wage_decile.substr(1).cast('int64'))\n"
        "safe.describe(w, ['decile'], name='all_workers')\n"
        f"safe.describe(w.filter(w.person_id > {cut}), ['decile'], name='all_but_three')\n"
    )
    project = write_project(tmp_path / "p", "26/104", {"d.py": code})
    status, text = enclave_run(project, extract, tmp_path / "r")
    assert status == 0, text
    req = load_request(tmp_path / "r")
    first, second = req.output("all_workers"), req.output("all_but_three")
    shown = pd.read_csv(tmp_path / "r" / first.files["output"])
    assert shown.loc[0, ["mean", "std"]].notna().all(), first  # the control: alone it shows
    hidden = pd.read_csv(tmp_path / "r" / second.files["output"])
    assert hidden.loc[0, ["mean", "std"]].isna().all(), second
    why = pd.read_csv(tmp_path / "r" / second.files["status"])
    assert "earlier releases" in why.loc[0, "mean"]


def test_a_released_mean_enters_the_history_and_holds_back_a_later_one(
    enclave_extracts, enclave_home, tmp_path
):
    """describe()'s means are released like tables: their records go into the deliberation's
    history at release, so a later run's mean over all but three of those persons stays hidden."""
    from kluis.release.history import records_to_add
    from kluis.review import open_request

    extract = enclave_extracts["26-104-full"]
    history = History(enclave_home / "history" / "26-104")
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    cut = duckdb.sql(
        f"SELECT person_id FROM read_parquet('{glob}') WHERE daily_wage_decile IS NOT NULL "
        "ORDER BY 1 LIMIT 1 OFFSET 2"
    ).fetchall()[0][0]
    head = (
        "import kluis.safe as safe\n"
        "t = safe.data('table1_next')\n"
        "y = t.filter(t.year == 2025)\n"
        "w = y.filter(y.daily_wage_decile.notnull()).mutate(\n"
        "    decile=y.daily_wage_decile.substr(1).cast('int64'))\n"
    )
    first = write_project(
        tmp_path / "a", "26/104", {"d.py": head + "safe.describe(w, ['decile'], name='all')\n"}
    )
    status, text = enclave_run(first, extract, tmp_path / "ra")
    assert status == 0, text
    records = records_to_add(open_request(tmp_path / "ra"), ["all"])
    assert [key for key, _ in records] == ["all/000"]  # one record per mean shown
    try:
        for _, record in records:
            history.add_record(record)  # as the release does
        code = head + f"safe.describe(w.filter(w.person_id > {cut}), ['decile'], name='later')\n"
        second = write_project(tmp_path / "b", "26/104", {"d.py": code})
        status, text = enclave_run(second, extract, tmp_path / "rb")
        assert status == 0, text
        out = load_request(tmp_path / "rb").output("later")
        hidden = pd.read_csv(tmp_path / "rb" / out.files["output"])
        assert hidden.loc[0, ["mean", "std"]].isna().all(), out
    finally:
        import shutil

        for rel in history.releases():
            shutil.rmtree(rel)
