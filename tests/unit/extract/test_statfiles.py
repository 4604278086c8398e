"""The fast SPSS/Stata writer gives byte for byte what pyreadstat gives for the whole frame.

The oracle is pyreadstat fed the pandas frame the way kluis built it before the fast writer
(integer codes, NaN = missing, text as object, the header timestamps made fixed): any table the
builders can produce — every column kind, nulls anywhere, empty and non-ASCII text, text too
long for the fast path — must come out identical, and the fast path must be the one taken
whenever it can be.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.extract.context import ColumnMeta, OutputTable
from kluis.extract.delivery import statfiles
from kluis.extract.delivery.formats import (
    BOOLEAN_LABELS,
    category_codes,
    clip,
    conform_output,
    stata_names,
    value_label,
)

CATEGORIES = (("a", "first"), ("b", "b"), ("c", "third"), ("ü", "umlaut"))
TMP = [HealthCheck.function_scoped_fixture]  # tmp_path is only written and read back
TEXT = st.text(alphabet=string.ascii_letters + "é€ -", max_size=12)


def _reference_frame(table: OutputTable, data: pa.Table) -> tuple[pd.DataFrame, dict]:
    """The frame kluis gave pyreadstat before the fast writer (the oracle)."""
    frame: dict[str, object] = {}
    labels: dict[str, dict[int, str]] = {}
    for col in table.columns:
        arr = data.column(col.name).combine_chunks()
        if col.kind == "category":
            frame[col.name] = _numeric(pa.compute.add(category_codes(table.name, col, arr), 1))
            labels[col.name] = {
                i + 1: value_label(v, lab) for i, (v, lab) in enumerate(col.categories)
            }
        elif col.kind == "boolean":
            frame[col.name] = _numeric(arr.cast(pa.int8()))
            labels[col.name] = dict(BOOLEAN_LABELS)
        elif col.kind in ("yearmonth", "string"):
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            frame[col.name] = pd.Series(arr.fill_null("").to_pylist(), dtype=object)
        else:
            frame[col.name] = _numeric(arr)
    return pd.DataFrame(frame), labels


def _numeric(arr: pa.Array) -> np.ndarray:
    if arr.null_count or pa.types.is_floating(arr.type):
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return arr.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _reference(table: OutputTable, data: pa.Table, path: Path, fmt: str) -> bytes:
    frame, labels = _reference_frame(table, data)
    if fmt == "sav":
        pyreadstat.write_sav(
            frame,
            str(path),
            column_labels={c.name: clip(c.label, 256) for c in table.columns},
            variable_value_labels=labels,
            file_label=table.name,
        )
        return statfiles._stamp_sav(path, path.read_bytes())
    names = stata_names(table)
    pyreadstat.write_dta(
        frame.rename(columns=names),
        str(path),
        column_labels={names[c.name]: clip(c.label, 80) for c in table.columns},
        variable_value_labels={names[k]: v for k, v in labels.items()},
        file_label=clip(table.name, 80),
    )
    return statfiles._stamp_dta(path, path.read_bytes())


@st.composite
def tables(draw: st.DrawFn, long_text: bool = False) -> tuple[OutputTable, pa.Table]:
    n = draw(st.integers(0, 25))
    kinds = draw(
        st.lists(
            st.sampled_from(["category", "boolean", "integer", "number", "yearmonth", "string"]),
            min_size=1,
            max_size=7,
        )
    )
    cols = [ColumnMeta("person_id", "pseudonym", "Sequence number")]
    arrays = {"person_id": pa.array(range(1, n + 1), pa.int64())}

    def maybe_null(values: list) -> list:
        nulls = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return [None if z else v for v, z in zip(values, nulls, strict=True)]

    for i, kind in enumerate(kinds):
        name = f"{kind}_{i}"
        label = draw(st.sampled_from(["", "A label", "Étiquette — long " * 3]))
        if kind == "category":
            cols.append(ColumnMeta(name, kind, label, categories=CATEGORIES))
            vals = draw(
                st.lists(st.sampled_from([v for v, _ in CATEGORIES]), min_size=n, max_size=n)
            )
            arrays[name] = pa.array(maybe_null(vals), pa.string())
        elif kind == "boolean":
            cols.append(ColumnMeta(name, kind, label))
            arrays[name] = pa.array(
                maybe_null(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
            )
        elif kind == "integer":
            cols.append(ColumnMeta(name, kind, label))
            ints = st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)
            arrays[name] = pa.array(maybe_null(draw(ints)), pa.int64())
        elif kind == "number":
            cols.append(ColumnMeta(name, kind, label))
            floats = st.floats(-1e12, 1e12) | st.just(float("nan"))
            arrays[name] = pa.array(maybe_null(draw(st.lists(floats, min_size=n, max_size=n))))
        elif kind == "yearmonth":
            cols.append(ColumnMeta(name, kind, label))
            months = st.integers(1990, 2030).map(lambda y: y * 100 + 1)
            arrays[name] = pa.array(maybe_null(draw(st.lists(months, min_size=n, max_size=n))))
        else:
            cols.append(ColumnMeta(name, kind, label))
            text = st.text(max_size=300) if long_text else TEXT
            arrays[name] = pa.array(maybe_null(draw(st.lists(text, min_size=n, max_size=n))))
    table = OutputTable(draw(st.sampled_from(["t", "panel"])), tuple(cols), {}, ("person_id",))
    return table, conform_output(table, pa.table(arrays))


@pytest.mark.parametrize("fmt", ["sav", "dta"])
@given(case=tables())
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fast_writer_equals_pyreadstat_byte_for_byte(fmt: str, case, tmp_path: Path) -> None:
    table, data = case
    write = statfiles.write_sav if fmt == "sav" else statfiles.write_dta
    got = tmp_path / f"fast.{fmt}"
    fast = write(table, data, got)
    assert got.read_bytes() == _reference(table, data, tmp_path / f"ref.{fmt}", fmt)
    # the fast path is taken whenever there are rows (no text here is long enough to need
    # SPSS segments or Stata strL references)
    assert fast == (data.num_rows > 0)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
@given(case=tables(long_text=True))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_long_and_unicode_text_is_still_identical(fmt: str, case, tmp_path: Path) -> None:
    table, data = case
    write = statfiles.write_sav if fmt == "sav" else statfiles.write_dta
    got = tmp_path / f"fast.{fmt}"
    write(table, data, got)
    assert got.read_bytes() == _reference(table, data, tmp_path / f"ref.{fmt}", fmt)


def test_the_years_of_a_table_share_one_template_yet_keep_their_own_rows(tmp_path: Path) -> None:
    """Same dictionary, different rows and row counts: each file is its own pyreadstat file."""
    cols = (
        ColumnMeta("person_id", "pseudonym", "id"),
        ColumnMeta("sex", "category", "Sex", categories=CATEGORIES),
        ColumnMeta("month", "yearmonth", "Month"),
    )
    table = OutputTable("years", cols, {}, ("person_id",))
    statfiles._TEMPLATES.clear()
    for n in (5, 400, 1):  # the one-row year has no null: integers there, floats elsewhere
        data = conform_output(
            table,
            pa.table(
                {
                    "person_id": pa.array(range(1, n + 1), pa.int64()),
                    "sex": pa.array([["a", "b", None][i % 3] for i in range(n)]),
                    "month": pa.array([202001 + i % 12 for i in range(n)]),
                }
            ),
        )
        for fmt, write in (("sav", statfiles.write_sav), ("dta", statfiles.write_dta)):
            assert write(table, data, tmp_path / f"{n}.{fmt}")
            ref = _reference(table, data, tmp_path / f"ref{n}.{fmt}", fmt)
            assert (tmp_path / f"{n}.{fmt}").read_bytes() == ref
    assert len(statfiles._TEMPLATES) == 2  # one template per format for the three years


def test_written_files_read_back_with_labels(tmp_path: Path) -> None:
    cols = (
        ColumnMeta("person_id", "pseudonym", "id"),
        ColumnMeta("sex", "category", "Sex", categories=CATEGORIES),
        ColumnMeta("works", "boolean", "Works"),
    )
    table = OutputTable("back", cols, {}, ("person_id",))
    data = conform_output(
        table,
        pa.table({"person_id": [1, 2, 3], "sex": ["c", None, "ü"], "works": [True, False, None]}),
    )
    statfiles.write_sav(table, data, tmp_path / "b.sav")
    df, meta = pyreadstat.read_sav(str(tmp_path / "b.sav"))
    assert df["sex"].tolist()[0] == 3 and np.isnan(df["sex"].tolist()[1])
    assert meta.variable_value_labels["sex"][4] == "ü umlaut"
    assert df["works"].tolist()[:2] == [1, 0] and np.isnan(df["works"].tolist()[2])
