"""Output files: declared types, value labels, SPSS/Stata codes, byte-identical rewrites."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery.formats import (
    OutputError,
    arrow_schema,
    conform_output,
    stata_names,
    write_dta,
    write_sav,
    write_sorted,
)

CATS = (("15-19", "15 to 19"), ("20-24", "20 to 24"), ("25+", "25+"))
COLUMNS = (
    ColumnMeta("person_id", "pseudonym", "Sequence number"),
    ColumnMeta("year", "year", "Year"),
    ColumnMeta("age", "category", "Age", categories=CATS),
    ColumnMeta("sex", "category", "Sex", categories=(("1", "Male"), ("2", "Female"))),
    ColumnMeta("working", "boolean", "Works"),
    ColumnMeta("start", "yearmonth", "Start"),
    ColumnMeta("reg_year", "integer", "Registration year"),
    ColumnMeta("w", "number", "A number"),
)
TABLE = OutputTable("t", COLUMNS, {}, ("person_id",))


def _raw(n: int = 4) -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array(range(1, n + 1), pa.int32()),
            "year": pa.array([2024] * n, pa.int32()),
            "age": pa.array([1, 3, None, 2][:n], pa.int16()),  # codes
            "sex": pa.array(["2", "1", "1", None][:n]),  # values
            "working": pa.array([True, False, None, True][:n]),
            "start": pa.array([202403, None, 199912, 202001][:n], pa.int32()),
            "reg_year": pa.array([1990, 2001, None, 2024][:n], pa.int64()),
            "w": pa.array([0.5, None, 1.25, 2.0][:n]),
        }
    )


def test_conform_gives_declared_types_and_values() -> None:
    t = conform_output(TABLE, _raw())
    assert t.schema == arrow_schema(TABLE)
    assert t.column("age").cast(pa.string()).to_pylist() == ["15-19", "25+", None, "20-24"]
    assert t.column("sex").cast(pa.string()).to_pylist() == ["2", "1", "1", None]
    assert t.column("start").to_pylist() == ["2024-03", None, "1999-12", "2020-01"]
    assert t.column("person_id").type == pa.int64() and t.column("year").type == pa.int16()


def test_unknown_category_value_or_code_is_an_error_naming_the_column() -> None:
    bad = _raw().set_column(3, "sex", pa.array(["2", "9", "1", None]))
    with pytest.raises(OutputError, match=r"t\.sex: value '9'"):
        conform_output(TABLE, bad)
    bad = _raw().set_column(2, "age", pa.array([1, 4, None, 2], pa.int16()))
    with pytest.raises(OutputError, match=r"t\.age: code 4 outside 1\.\.3"):
        conform_output(TABLE, bad)
    with pytest.raises(OutputError, match="no column"):
        conform_output(TABLE, _raw().drop_columns(["w"]))


def test_category_without_categories_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs its categories"):
        ColumnMeta("x", "category")
    with pytest.raises(ValueError, match="unknown kind"):
        ColumnMeta("x", "date")  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=5), st.integers(0, 2**32))
def test_parquet_bytes_do_not_depend_on_row_order_or_chunking(cuts, seed) -> None:
    """The engine returns rows in any order and any batch sizes: the file is the same."""
    import tempfile

    import kluis.extract.delivery.formats as f

    n = 6000
    import random

    ids = list(range(1, n + 1))
    random.Random(seed).shuffle(ids)
    raw = pa.table(
        {
            "person_id": pa.array(ids, pa.int64()),
            "year": pa.array([2024] * n, pa.int16()),
            "age": pa.array([1 + (i * 7) % 3 for i in ids], pa.int16()),
            "sex": pa.array([str(1 + i % 2) for i in ids]),
            "working": pa.array([i % 3 == 0 for i in ids]),
            "start": pa.array([None if i % 5 else 200001 + i % 40 for i in ids], pa.int32()),
            "reg_year": pa.array([1990 + i % 30 for i in ids], pa.int64()),
            "w": pa.array([i / 7 for i in ids]),
        }
    )
    bounds = sorted({0, n, *[c % n for c in cuts]})
    # each batch conformed on its own, in engine order, as publish does
    chunked = pa.concat_tables(
        [
            conform_output(TABLE, raw.slice(a, b - a))
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]
    )
    ordered = conform_output(TABLE, raw.sort_by("person_id"))
    with tempfile.TemporaryDirectory() as d:
        one, many = Path(d) / "a.parquet", Path(d) / "b.parquet"
        old = f.ROW_GROUP
        f.ROW_GROUP = 2500  # force several row groups
        try:
            write_sorted(ordered, one, ("person_id",))
            write_sorted(chunked, many, ("person_id",))
        finally:
            f.ROW_GROUP = old
        assert one.read_bytes() == many.read_bytes()
        assert pq.ParquetFile(one).metadata.num_row_groups == 3
        assert pq.read_table(one).column("person_id").to_pylist() == list(range(1, n + 1))


def test_rows_must_be_identified_by_the_sort_keys(tmp_path: Path) -> None:
    data = conform_output(TABLE, _raw())
    dup = pa.concat_tables([data, data.slice(0, 1)])
    with pytest.raises(OutputError, match="not identified by person_id"):
        write_sorted(dup, tmp_path / "d.parquet", ("person_id",))
    assert write_sorted(data, tmp_path / "ok.parquet", ("year", "person_id")) == 4


def test_empty_parquet_has_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    assert write_sorted(arrow_schema(TABLE).empty_table(), path, ("person_id",)) == 0
    assert pq.read_table(path).schema == arrow_schema(TABLE)


def test_sav_and_dta_hold_integer_codes_with_value_labels(tmp_path: Path) -> None:
    data = conform_output(TABLE, _raw())
    write_sav(TABLE, data, tmp_path / "t.sav")
    write_dta(TABLE, data, tmp_path / "t.dta")
    for path in (tmp_path / "t.sav", tmp_path / "t.dta"):
        df, meta = (pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta)(
            str(path)
        )
        assert df["age"].tolist()[:2] == [1.0, 3.0] and df["age"].isna().tolist()[2]
        assert df["sex"].tolist()[:3] == [2.0, 1.0, 1.0]
        labels = meta.variable_value_labels
        assert labels["age"] == {1: "15-19 15 to 19", 2: "20-24 20 to 24", 3: "25+"}
        assert labels["sex"] == {1: "1 Male", 2: "2 Female"}
        assert labels["working"] == {0: "no", 1: "yes"}
        assert df["person_id"].tolist() == [1, 2, 3, 4]
        assert meta.column_names_to_labels["age"] == "Age"


def test_sav_and_dta_rewrites_are_byte_identical(tmp_path: Path) -> None:
    import time

    data = conform_output(TABLE, _raw())
    write_sav(TABLE, data, tmp_path / "a.sav")
    write_dta(TABLE, data, tmp_path / "a.dta")
    time.sleep(1.1)  # the writers stamp the time in seconds / minutes
    write_sav(TABLE, data, tmp_path / "b.sav")
    write_dta(TABLE, data, tmp_path / "b.dta")
    assert (tmp_path / "a.sav").read_bytes() == (tmp_path / "b.sav").read_bytes()
    assert (tmp_path / "a.dta").read_bytes() == (tmp_path / "b.dta").read_bytes()
    assert b"01 Jan 1970 00:00" in (tmp_path / "a.dta").read_bytes()[:2000]


def test_stata_names_are_short_unique_and_keep_the_suffix() -> None:
    cols = tuple(
        ColumnMeta(name, "boolean")
        for name in ("st_work_career_break_partial_next", "st_work_career_break_full_next", "age")
    )
    names = stata_names(OutputTable("x", cols, {}, ("age",)))
    assert names["age"] == "age"
    assert all(len(v) <= 31 and v.endswith("_next") for k, v in names.items() if k != "age")
    assert len(set(names.values())) == 3
    clash = tuple(ColumnMeta(f"{'a' * 40}{i}_next", "boolean") for i in range(2))
    with pytest.raises(OutputError, match="collide"):
        stata_names(OutputTable("x", clash, {}, ()))
