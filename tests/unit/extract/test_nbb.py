"""The NBB enterprise list: every problem is reported with its line; unknown enterprises are
listed, not dropped silently."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from kluis.extract.employers.nbb import NbbListError, load_nbb_list, read_nbb_list
from kluis.extract.employers.nbb_report import render
from kluis.warehouse import identifiers as ids

KBO = ids.kbo_from_base(np.arange(1, 41) * 271_829).to_pylist()
RSZ = ids.rsz_from_base(np.arange(1, 41) * 31_337).to_pylist()
HEADER = "kbo_number,rsz_number,group"


def kbo_check(first8: str) -> str:
    """The KBO rule written out independently: 97 - (first 8 digits mod 97)."""
    return f"{first8}{97 - int(first8) % 97:02d}"


def employers(n: int = 40) -> pa.Table:
    return pa.table({"kbo_number": KBO[:n], "rsz_number": RSZ[:n]})


def write(tmp_path, lines: list[str], name: str = "nbb.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_lines(n: int = 10) -> list[str]:
    return [HEADER] + [
        f"{KBO[i]},{RSZ[i]},{'intervention' if i % 3 == 0 else 'control'}" for i in range(n)
    ]


def test_identifier_rules_match_an_independent_computation():
    assert all(k == kbo_check(k[:8]) for k in KBO)


def test_a_good_list_is_read_whole(tmp_path):
    result = load_nbb_list(write(tmp_path, good_lines()), employers())
    assert result.ok and not result.problems
    assert result.enterprises.num_rows == 10
    assert result.enterprises.column("line").to_pylist() == list(range(2, 12))
    assert result.group_counts() == {"control": 6, "intervention": 4}


def test_every_kind_of_error_is_reported_with_its_line(tmp_path):
    lines = good_lines(6)
    bad_kbo = KBO[10][:9] + str((int(KBO[10][9]) + 1) % 10)
    bad_rsz = RSZ[11][:8] + str((int(RSZ[11][8]) + 1) % 10)
    lines += [
        f"{bad_kbo},{RSZ[10]},control",  # line 8: KBO check digits
        f"{KBO[11]},{bad_rsz},control",  # line 9: RSZ check digits
        f"{KBO[12]},{RSZ[12]},treatment",  # line 10: group
        f"{KBO[13]},{RSZ[13]}",  # line 11: field count
        lines[2],  # line 12: duplicate of line 3
        f"{KBO[14]},{RSZ[1]},control",  # line 13: RSZ already listed (line 3) under another KBO
        f"{KBO[15]},{RSZ[16]},control",  # line 14: RSZ belongs to another KBO in the warehouse
    ]
    path = write(tmp_path, lines)
    with pytest.raises(NbbListError) as info:
        load_nbb_list(path, employers())
    got = {(p.line, p.kind) for p in info.value.problems}
    assert got == {
        (8, "kbo"),
        (9, "rsz"),
        (10, "group"),
        (11, "fields"),
        (12, "duplicate"),
        (13, "conflict"),
        (14, "mismatch"),
    }
    dup = next(p for p in info.value.problems if p.kind == "duplicate")
    assert "line 3" in dup.message
    text = str(info.value)
    assert f"{path}: line 8, kbo_number" in text and bad_kbo in text


def test_unknown_enterprises_are_listed_not_dropped(tmp_path):
    lines = good_lines(5) + [f"{KBO[30]},{RSZ[30]},control", f"{KBO[31]},{RSZ[31]},intervention"]
    result = load_nbb_list(write(tmp_path, lines), employers(30))  # the warehouse knows 0..29
    assert result.ok
    assert [(p.line, p.kind, p.severity) for p in result.problems] == [
        (7, "unknown", "warning"),
        (8, "unknown", "warning"),
    ]
    assert result.unknown.column("kbo_number").to_pylist() == [KBO[30], KBO[31]]
    assert result.enterprises.num_rows == 5
    assert result.summary()["unknown_to_warehouse"] == 2
    out = io.StringIO()
    render(result, Console(file=out, width=200))
    report = out.getvalue()
    assert "2 unknown to the warehouse" in report and KBO[30] in report and " 8 " in report


def test_blank_lines_keep_line_numbers_and_formats_are_tolerated(tmp_path):
    dotted = f"BE {KBO[2][:4]}.{KBO[2][4:7]}.{KBO[2][7:]}"
    lines = [
        "\ufeffkbo_number;rsz_number;group",
        f"{KBO[0]};{RSZ[0]};control",
        "",
        f'"{dotted}";{RSZ[2]};Intervention',
        f"{KBO[3]};{RSZ[3]};nonsense",
    ]
    path = tmp_path / "semi.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    result = read_nbb_list(path)
    assert [(p.line, p.kind) for p in result.problems] == [(5, "group")]
    assert result.enterprises.column("kbo_number").to_pylist() == [KBO[0], KBO[2]]
    assert result.enterprises.column("line").to_pylist() == [2, 4]


@pytest.mark.parametrize(
    ("content", "line", "kind"),
    [("", 1, "header"), ("kbo,rsz,group\n", 1, "header"), ("kbo_number,rsz_number\n", 1, "header")],
)
def test_bad_header_or_empty_file(tmp_path, content, line, kind):
    path = tmp_path / "h.csv"
    path.write_text(content)
    with pytest.raises(NbbListError) as info:
        read_nbb_list(path)
    assert [(p.line, p.kind) for p in info.value.problems] == [(line, kind)]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(NbbListError, match="cannot read: No such file or directory"):
        read_nbb_list(tmp_path / "nope.csv")


def _corrupt(line: str, how: str) -> str:
    kbo, rsz, group = line.split(",")
    if how == "kbo":
        return f"{kbo[:9]}{(int(kbo[9]) + 1) % 10},{rsz},{group}"
    if how == "rsz":
        return f"{kbo},{rsz[:8]}{(int(rsz[8]) + 1) % 10},{group}"
    if how == "group":
        return f"{kbo},{rsz},other"
    return f"{kbo},{rsz}"  # fields


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=30),
    data=st.data(),
)
def test_reported_lines_are_exactly_the_corrupted_ones(tmp_path_factory, n, data):
    lines = good_lines(n)
    chosen = data.draw(st.sets(st.integers(min_value=1, max_value=n), max_size=n))
    expected = set()
    for i in chosen:
        how = data.draw(st.sampled_from(["kbo", "rsz", "group", "fields"]))
        lines[i] = _corrupt(lines[i], how)
        expected.add((i + 1, how))
    path = write(tmp_path_factory.mktemp("nbb"), lines)
    result = read_nbb_list(path)
    assert {(p.line, p.kind) for p in result.problems} == expected
    assert result.enterprises.num_rows == n - len(chosen)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.text(alphabet='0123456789,;"\r\n .BEkbo_numberrszgroupcontrolintervention', max_size=300)
)
def test_any_file_gives_a_list_or_errors_by_line(tmp_path_factory, data):
    """Whatever the bytes, the list is read or refused with its problems by line: never a
    traceback, never an accepted list without a usable enterprise."""
    path = tmp_path_factory.mktemp("any") / "list.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    try:
        checked = load_nbb_list(path)
    except NbbListError as exc:
        assert exc.problems and str(exc).startswith(f"NBB enterprise list {path}")
        assert all(p.line >= 0 for p in exc.problems)
    else:
        assert checked.ok and checked.enterprises.num_rows > 0
