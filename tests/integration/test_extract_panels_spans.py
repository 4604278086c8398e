"""Years computed together or one at a time give the same extract, byte for byte.

The panel builder groups consecutive years into one query while they stay under SPAN_ROWS rows
(all years of a development sample, one year at a time for a national population). The span is
an execution choice only: forcing one year per query must change no byte of any file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kluis.extract.panels import build as panels
from kluis.extract.run import run_extract
from kluis.pseudonym import KeyStore
from tests.spec.tinywh import small_deliberation

YEARS = (2024, 2026)  # 2023 and 2027 are the T−1 and T+1 edges; 2027 is outside the warehouse
TODAY = dt.date(2026, 11, 22)


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("phase", ["development", "full"])
def test_one_query_per_year_or_per_span_gives_the_same_files(
    phase: str, small_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delib = small_deliberation(tmp_path / "delib", YEARS, persons_per_year=300)
    KeyStore(tmp_path / "ks").create("26/104")
    seen: list[tuple[int, ...]] = []
    real = panels.spans

    def recorded(*args, **kwargs):
        got = real(*args, **kwargs)
        seen.extend(got)
        return got

    monkeypatch.setattr(panels, "spans", recorded)
    common = {"keystore": tmp_path / "ks", "today": TODAY, "registry": {}}
    run_extract(delib, small_warehouse, phase, tmp_path / "together", **common)
    assert (2024, 2025, 2026) in seen  # the small warehouse fits in one span
    seen.clear()
    monkeypatch.setattr(panels, "SPAN_ROWS", 1)
    run_extract(delib, small_warehouse, phase, tmp_path / "apart", **common)
    assert seen and all(len(s) == 1 for s in seen)
    together, apart = _files(tmp_path / "together"), _files(tmp_path / "apart")
    assert sorted(together) == sorted(apart)
    assert len([f for f in together if f.endswith(".parquet")]) == 6
    for name in together:
        assert together[name] == apart[name], name


def test_spans_group_consecutive_years_under_the_limit() -> None:
    rows = {2020: 400, 2021: 400, 2022: 400, 2023: 1500, 2024: 10}
    assert panels.spans(list(rows), rows.__getitem__, limit=1000) == [
        (2020, 2021),
        (2022,),
        (2023,),  # alone above the limit: a year is never split
        (2024,),
    ]
    assert panels.spans([2022, 2020, 2021], rows.__getitem__, limit=10_000) == [(2020, 2021, 2022)]
    assert panels.spans([], rows.__getitem__) == []
