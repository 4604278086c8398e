"""The validator catches each kind of broken input it claims to catch, and names where it is.

Every test starts from the hand-made tiny warehouse (valid), breaks exactly one thing, and asserts
the table, file, row (1 = first data row) and column of the problem, and the offending value.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.warehouse.checks.problems import Problem, Report
from kluis.warehouse.validate import validate_warehouse
from tests.unit.warehouse import tiny

PY25 = "person_year/year=2025/part-0.parquet"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build(tmp_path_factory.mktemp("tiny") / "wh")


@pytest.fixture
def wh(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "wh"))


def only(
    report: Report, check: str, table: str | None = None, column: str | None = None
) -> Problem:
    found = report.find(check, table, column)
    assert len(found) == 1, (check, table, column, report.problems)
    return found[0]


def located(p: Problem) -> list[tuple[str | None, int | None, str | None]]:
    return [(e.file, e.row, e.value) for e in p.examples]


def data_errors(report: Report) -> list[Problem]:
    """Errors other than the warehouse.json id (which every edit of a file invalidates)."""
    return [p for p in report.errors if p.check != "meta_id"]


def test_the_tiny_warehouse_is_valid(wh: Path) -> None:
    report = validate_warehouse(wh)
    assert report.problems == []
    assert report.ok
    assert report.tables["person_year"] == {
        "files": 2,
        "rows": len(tiny.PY_2024) + len(tiny.PY_2025),
    }


def test_truncated_parquet_file_is_reported_not_fatal(wh: Path) -> None:
    path = wh / PY25
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    tiny.replace_value(wh, "persons", None, 0, "sex", "X")  # and something else to find
    report = validate_warehouse(wh)
    p = only(report, "file_unreadable", "person_year")
    assert located(p) == [(PY25, None, None)]
    assert only(report, "code", "persons", "sex").examples[0].row == 1
    assert not report.ok


def test_corrupt_data_page_with_intact_footer_is_reported(wh: Path) -> None:
    path = wh / "employments/year=2025/part-0.parquet"
    t = tiny.read(wh, "employments", 2025)
    pq.write_table(t, path, compression="none")
    data = bytearray(path.read_bytes())
    data[4:60] = b"\xff" * 56  # the first page header, right after the leading magic bytes
    path.write_bytes(bytes(data))
    assert pq.read_metadata(path).num_rows == t.num_rows  # the footer still reads
    report = validate_warehouse(wh)
    p = only(report, "file_unreadable", "employments")
    assert located(p) == [("employments/year=2025/part-0.parquet", None, None)]
    assert not report.find("check_failed")


def test_empty_file_is_reported(wh: Path) -> None:
    (wh / "employers/part-0.parquet").write_bytes(b"")
    report = validate_warehouse(wh)
    assert located(only(report, "file_unreadable", "employers")) == [
        ("employers/part-0.parquet", None, None)
    ]
    # references to employers cannot be checked: said, not silently passed
    assert only(report, "check_skipped", "employments", "rsz_number").severity == "warning"


def test_missing_column(wh: Path) -> None:
    t = tiny.read(wh, "persons").drop_columns(["sex"])
    pq.write_table(t, wh / "persons/part-0.parquet")
    report = validate_warehouse(wh)
    p = only(report, "column_missing", "persons", "sex")
    assert located(p) == [("persons/part-0.parquet", None, None)]
    assert p.is_error


def test_wrong_type_is_reported_and_the_column_not_checked_further(wh: Path) -> None:
    t = tiny.read(wh, "person_year", 2024)
    i = t.schema.get_field_index("n_children")
    t = t.set_column(i, "n_children", pa.array(["many"] * t.num_rows))
    pq.write_table(t, wh / "person_year/year=2024/part-0.parquet")
    report = validate_warehouse(wh)
    p = only(report, "column_type", "person_year", "n_children")
    assert located(p) == [("person_year/year=2024/part-0.parquet", None, "string")]
    assert "int8" in p.message
    assert not report.find("range", "person_year", "n_children")
    assert not report.find("check_failed")


def test_bad_insz_check_digit(wh: Path) -> None:
    good = tiny.ID["P3"]
    bad = good[:9] + f"{(int(good[9:]) % 97) + 1:02d}"
    tiny.replace_value(wh, "persons", None, 2, "insz", bad)
    report = validate_warehouse(wh)
    p = only(report, "identifier", "persons", "insz")
    assert located(p) == [("persons/part-0.parquet", 3, bad)]
    # P3's yearly rows now point to nobody: orphans in both years
    orphans = only(report, "orphan", "person_year", "insz")
    assert orphans.count == 2
    assert {e.value for e in orphans.examples} == {good}


def test_post_2000_and_bis_numbers_are_accepted_but_their_pre_2000_form_is_not(wh: Path) -> None:
    p4 = tiny.ID["P4"]  # born 2000: check digits computed on 2YYMMDDsss
    wrong_century = p4[:9] + f"{97 - int(p4[:9]) % 97:02d}"
    assert wrong_century != p4
    assert validate_warehouse(wh).ok  # P4 (born 2000) and P12 (BIS) are fine
    tiny.replace_value(wh, "persons", None, 3, "insz", wrong_century)
    # the pre-2000 form is a valid number too (for someone born in 1900): only the orphan shows
    report = validate_warehouse(wh)
    assert not report.find("identifier")
    assert only(report, "orphan", "person_year", "insz").count == 2


def test_bad_kbo_and_rsz(wh: Path) -> None:
    tiny.replace_value(wh, "employers", None, 1, "kbo_number", "2123456789")  # starts with 2
    tiny.replace_value(wh, "employers", None, 2, "rsz_number", "12345678")  # 8 digits
    report = validate_warehouse(wh)
    assert located(only(report, "identifier", "employers", "kbo_number")) == [
        ("employers/part-0.parquet", 2, "2123456789")
    ]
    assert located(only(report, "identifier", "employers", "rsz_number")) == [
        ("employers/part-0.parquet", 3, "12345678")
    ]


def test_duplicated_person_year(wh: Path) -> None:
    t = tiny.read(wh, "person_year", 2025)
    t = pa.concat_tables([t, t.slice(4, 1)])  # P5 twice
    pq.write_table(t, wh / PY25)
    report = validate_warehouse(wh)
    p = only(report, "duplicate_key", "person_year", "insz, year")
    assert p.count == 2
    key = f"insz={tiny.ID['P5']}, year=2025"
    assert located(p) == [(PY25, 5, key), (PY25, t.num_rows, key)]


def test_duplicate_across_partitions_is_found(wh: Path) -> None:
    # a 2025 row stored (with year 2025) in the 2024 file: a duplicate AND a partition mismatch
    t24 = tiny.read(wh, "person_year", 2024)
    t25 = tiny.read(wh, "person_year", 2025)
    pq.write_table(
        pa.concat_tables([t24, t25.slice(0, 1)]), wh / "person_year/year=2024/part-0.parquet"
    )
    report = validate_warehouse(wh)
    p = only(report, "duplicate_key", "person_year")
    assert {(e.file, e.row) for e in p.examples} == {
        ("person_year/year=2024/part-0.parquet", t24.num_rows + 1),
        (PY25, 1),
    }
    q = only(report, "partition_year", "person_year", "year")
    assert located(q) == [("person_year/year=2024/part-0.parquet", t24.num_rows + 1, "2025")]


def test_orphan_employment(wh: Path) -> None:
    stranger = tiny.rsz(7_654_321)  # a valid number that is not an employer
    tiny.replace_value(wh, "employments", 2025, 3, "rsz_number", stranger)
    report = validate_warehouse(wh)
    p = only(report, "orphan", "employments", "rsz_number")
    assert located(p) == [("employments/year=2025/part-0.parquet", 4, stranger)]
    assert "employers.rsz_number" in p.message
    assert [e.check for e in data_errors(report)] == ["orphan"]


def test_unknown_code(wh: Path) -> None:
    tiny.replace_value(wh, "person_year", 2025, 6, "sep_code", "9.9")
    report = validate_warehouse(wh)
    p = only(report, "code", "person_year", "sep_code")
    assert located(p) == [(PY25, 7, "9.9")]
    assert "sep" in p.message


def test_out_of_range(wh: Path) -> None:
    tiny.replace_value(wh, "employments", 2024, 1, "days", 400)
    tiny.replace_value(wh, "person_year", 2025, 0, "gross_daily_wage", float("nan"))
    report = validate_warehouse(wh)
    assert located(only(report, "range", "employments", "days")) == [
        ("employments/year=2024/part-0.parquet", 2, "400")
    ]
    assert located(only(report, "range", "person_year", "gross_daily_wage")) == [(PY25, 1, "nan")]


def test_null_in_a_not_nullable_column(wh: Path) -> None:
    tiny.replace_value(wh, "person_year", 2025, 2, "sep_code", None)
    report = validate_warehouse(wh)
    assert located(only(report, "null", "person_year", "sep_code")) == [(PY25, 3, None)]


def test_death_before_birth(wh: Path) -> None:
    tiny.replace_value(wh, "persons", None, 1, "death_date", dt.date(1985, 1, 1))
    report = validate_warehouse(wh)
    p = only(report, "date_death_before_birth", "persons", "death_date")
    assert located(p) == [
        ("persons/part-0.parquet", 2, "birth_date=1990-03-10, death_date=1985-01-01")
    ]
    # and the person's rows after the year of death
    assert only(report, "date_after_death", "person_year", "year").count == 2


def test_rows_after_the_year_of_death(wh: Path) -> None:
    # P10 (row 10 of persons) died in 2025 and has a 2024 row: fine. Move the death to 2023.
    tiny.replace_value(wh, "persons", None, 9, "death_date", dt.date(2023, 5, 1))
    report = validate_warehouse(wh)
    p = only(report, "date_after_death", "person_year", "year")
    assert located(p) == [
        (
            "person_year/year=2024/part-0.parquet",
            len(tiny.PY_2024),
            "year=2024, death_date=2023-05-01",
        )
    ]
    e = only(report, "date_after_death", "employments", "year")
    assert e.examples[0].file == "employments/year=2024/part-0.parquet"


def test_person_year_in_the_year_of_death(wh: Path) -> None:
    # alive on 31 December is the scope: P1 dying in June 2025 must not have a 2025 row,
    # while his 2025 job (employments: held during the year) is fine
    tiny.replace_value(wh, "persons", None, 0, "death_date", dt.date(2025, 6, 30))
    report = validate_warehouse(wh)
    p = only(report, "date_after_death", "person_year", "year")
    assert located(p) == [(PY25, 1, "year=2025, death_date=2025-06-30")]
    assert not report.find("date_after_death", "employments")


def test_insz_disagreeing_with_birth_date_or_sex_is_a_warning(wh: Path) -> None:
    tiny.replace_value(wh, "persons", None, 0, "birth_date", dt.date(1980, 5, 2))  # P1
    tiny.replace_value(wh, "persons", None, 1, "sex", "1")  # P2: even serial
    report = validate_warehouse(wh)
    b = only(report, "insz_birth_date", "persons", "insz")
    assert (b.severity, located(b)) == (
        "warning",
        [("persons/part-0.parquet", 1, f"insz={tiny.ID['P1']}, birth_date=1980-05-02")],
    )
    s = only(report, "insz_sex", "persons", "insz")
    assert (s.severity, s.examples[0].row) == ("warning", 2)
    assert [p.check for p in data_errors(report)] == []


def test_province_and_residence_disagree(wh: Path) -> None:
    tiny.replace_value(wh, "person_year", 2025, 0, "province", None)  # P1 resident
    tiny.replace_value(wh, "person_year", 2025, 7, "province", "10000")  # P8 not resident
    report = validate_warehouse(wh)
    p = only(report, "province_resident", "person_year", "province")
    assert p.severity == "warning"
    assert located(p) == [
        (PY25, 1, "resident=true, province=null"),
        (PY25, 8, "resident=false, province=10000"),
    ]


def test_welfare_support_type_of_the_wrong_level(wh: Path) -> None:
    tiny.replace_value(wh, "welfare_support", 2025, 1, "support_type", "2")  # level 2 row
    report = validate_warehouse(wh)
    p = only(report, "welfare_level", "welfare_support", "support_type")
    assert located(p) == [
        ("welfare_support/year=2025/part-0.parquet", 2, "level=2, support_type=2")
    ]


def test_death_in_the_future_and_implausible_birth(wh: Path) -> None:
    tiny.replace_value(wh, "persons", None, 0, "death_date", dt.date(2026, 1, 1))
    tiny.replace_value(wh, "persons", None, 4, "nr_registration_year", 1950)  # born 1960
    report = validate_warehouse(wh)
    assert located(only(report, "date_death_future", "persons", "death_date")) == [
        ("persons/part-0.parquet", 1, "2026-01-01")
    ]
    assert only(report, "date_registration", "persons").examples[0].row == 5


def test_age_outside_the_scope(wh: Path) -> None:
    tiny.replace_value(wh, "persons", None, 5, "birth_date", dt.date(2013, 6, 6))  # P6
    report = validate_warehouse(wh)
    p = only(report, "age_scope", "person_year", "year")
    # P6 is row 6 of both person_year files: 11 in 2024, 12 in 2025
    assert located(p) == [
        ("person_year/year=2024/part-0.parquet", 6, "age=11, birth_date=2013-06-06"),
        (PY25, 6, "age=12, birth_date=2013-06-06"),
    ]


def test_spell_dates(wh: Path) -> None:
    tiny.replace_value(wh, "ss_spells", 2025, 0, "end_date", dt.date(2021, 12, 31))
    tiny.replace_value(wh, "ss_spells", 2024, 0, "start_date", dt.date(2025, 1, 2))
    report = validate_warehouse(wh)
    assert located(only(report, "date_spell_order", "ss_spells")) == [
        ("ss_spells/year=2025/part-0.parquet", 1, "start_date=2022-01-10, end_date=2021-12-31")
    ]
    q4 = only(report, "date_spell_q4", "ss_spells")
    assert [(e.file, e.row) for e in q4.examples] == [
        ("ss_spells/year=2024/part-0.parquet", 1),
        ("ss_spells/year=2025/part-0.parquet", 1),
    ]


def test_employment_outside_the_employers_lifetime(wh: Path) -> None:
    tiny.replace_value(wh, "employers", None, 2, "closed_year", 2024)  # E3 closes in 2024
    report = validate_warehouse(wh)
    p = only(report, "date_employment_lifetime", "employments", "year")
    assert [(e.file, e.row) for e in p.examples] == [("employments/year=2025/part-0.parquet", 5)]


def test_examples_are_capped_but_everything_is_counted(wh: Path) -> None:
    t = tiny.read(wh, "person_year", 2025)
    big = pa.concat_tables([t] * 5)  # 55 rows; give each a unique, valid key
    years = [2025] * big.num_rows
    insz = [tiny.insz(dt.date(1980, 1, 1), 2 * i + 1) for i in range(big.num_rows)]
    big = big.set_column(0, "insz", pa.array(insz)).set_column(
        1, "year", pa.array(years, pa.int16())
    )
    big = big.set_column(
        big.schema.get_field_index("province"), "province", pa.array(["X"] * big.num_rows)
    )
    pq.write_table(big, wh / PY25)
    report = validate_warehouse(wh, max_examples=7)
    p = only(report, "code", "person_year", "province")
    assert p.count == big.num_rows
    assert [e.row for e in p.examples] == [1, 2, 3, 4, 5, 6, 7]


def test_missing_table_and_undeclared_things(wh: Path) -> None:
    shutil.rmtree(wh / "welfare_support")
    t = tiny.read(wh, "employers").append_column("note", pa.array(["x"] * 3))
    pq.write_table(t, wh / "employers/part-0.parquet")
    (wh / "scratch").mkdir()
    report = validate_warehouse(wh)
    assert only(report, "table_missing", "welfare_support").is_error
    extra = only(report, "column_undeclared", "employers", "note")
    assert extra.severity == "warning"
    assert any("scratch" in p.message for p in report.find("unexpected_path"))


def test_warehouse_json_missing(wh: Path) -> None:
    (wh / "warehouse.json").unlink()
    report = validate_warehouse(wh)
    assert [p.check for p in report.errors] == ["meta_missing"]


def test_warehouse_json_years_disagree_with_the_partitions(wh: Path) -> None:
    meta = json.loads((wh / "warehouse.json").read_text())
    meta["years"] = [2023, 2025]
    (wh / "warehouse.json").write_text(json.dumps(meta))
    report = validate_warehouse(wh)
    missing = report.find("partition_missing")
    assert {(p.table, p.examples[0].file) for p in missing} == {
        (t, f"{t}/year=2023")
        for t in (
            "person_year",
            "employments",
            "ss_spells",
            "disability_allowances",
            "welfare_support",
        )
    }


def test_warehouse_json_malformed_and_id_stale(wh: Path) -> None:
    (wh / "warehouse.json").write_text("{not json")
    assert validate_warehouse(wh).find("meta_invalid")
    tiny.seal(wh)
    pq.write_table(  # the same rows, written differently: other bytes, so another id
        tiny.read(wh, "employers").slice(0, 3), wh / "employers/part-0.parquet", compression="gzip"
    )
    report = validate_warehouse(wh)
    assert [p.check for p in report.errors] == ["meta_id"]


def test_not_a_directory(tmp_path: Path) -> None:
    report = validate_warehouse(tmp_path / "nowhere")
    assert [p.check for p in report.errors] == ["warehouse_missing"]


def test_report_json_round_trips(wh: Path) -> None:
    tiny.replace_value(wh, "person_year", 2025, 6, "sep_code", "9.9")
    data = json.loads(validate_warehouse(wh).to_json())
    assert data["ok"] is False
    code = [p for p in data["problems"] if p["check"] == "code"]
    assert code[0]["examples"] == [{"file": PY25, "row": 7, "value": "9.9"}]


@settings(max_examples=12, deadline=None)
@given(
    st.sets(st.integers(min_value=0, max_value=len(tiny.PY_2025) - 1), min_size=1),
    st.integers(min_value=1, max_value=4),
)
def test_every_broken_row_is_counted_and_the_first_ones_shown(broken: set[int], cap: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = tiny.build(Path(d) / "wh")
        t = tiny.read(root, "person_year", 2025)
        province = t.column("province").to_pylist()
        for i in broken:
            province[i] = "00000"
        t = t.set_column(t.schema.get_field_index("province"), "province", pa.array(province))
        pq.write_table(t, root / PY25)
        tiny.seal(root)
        report = validate_warehouse(root, max_examples=cap)
    assert [p.check for p in report.errors] == ["code"]
    p = report.errors[0]
    assert (p.table, p.column, p.count) == ("person_year", "province", len(broken))
    assert [e.row for e in p.examples] == sorted(i + 1 for i in broken)[:cap]
    assert {e.value for e in p.examples} == {"00000"}


def test_a_table_in_several_part_files(wh: Path) -> None:
    t = tiny.read(wh, "person_year", 2025)
    pq.write_table(t.slice(0, 4), wh / PY25)
    pq.write_table(t.slice(2), wh / "person_year/year=2025/part-1.parquet")  # rows 2-3 twice
    tiny.seal(wh)
    report = validate_warehouse(wh)
    assert [p.check for p in report.problems] == ["duplicate_key"]
    p = report.problems[0]
    assert p.count == 4
    part1 = "person_year/year=2025/part-1.parquet"
    # examples come grouped by key (sorted), then by file and row
    by_key = sorted([(tiny.ID["P3"], 3, 1), (tiny.ID["P4"], 4, 2)])
    assert [(e.file, e.row) for e in p.examples] == [
        loc for _k, r0, r1 in by_key for loc in ((PY25, r0), (part1, r1))
    ]
