"""Identifier check digits: hand-computed examples, and the vectorised code against a plain
Python reading of the rules (BRIEF section 5)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.warehouse.gen.insz import InszAllocator
from kluis.warehouse.identifiers import (
    digits_to_arrow,
    insz_is_bis,
    insz_valid,
    is_valid_insz,
    is_valid_kbo,
    is_valid_rsz,
    kbo_from_base,
    kbo_valid,
    make_insz,
    rsz_from_base,
    rsz_valid,
    unique_bases,
)

# Worked by hand from the rules:
#   850730033 mod 97 = 69 -> 97 - 69 = 28                 (born 30/07/1985, serial 033, a man)
#   2010203012 mod 97 = 38 -> 97 - 38 = 59                (born 03/02/2001, serial 012, a woman)
#   854730033 mod 97 = 80 -> 17                           (BIS: month 07 + 40)
#   04031707 mod 97 = 96 -> 01                            (KBO 0403.170.7 + 01)
#   1234567 mod 97 = 48 -> 49                             (RSZ 1234567 + 49)
VALID_INSZ = ["85073003328", "01020301259", "85473003317"]
INVALID_INSZ = [
    "85073003327",  # check off by one
    "8507300332",  # 10 digits
    "850730033280",  # 12 digits
    "8507300332a",  # not all digits
    "85133003370",  # month 13 (check made to fit: 851330033 mod 97 = 27 -> 70)
    "85073000061",  # serial 000 (850730000 mod 97 = 36 -> 61)
    "",
]


def _reference_valid(s: str) -> bool:
    """The INSZ rules read literally, one number at a time."""
    if len(s) != 11 or not s.isdigit():
        return False
    first9, check = int(s[:9]), int(s[9:])
    month, day, serial = int(s[2:4]), int(s[4:6]), int(s[6:9])
    if check not in (_check(first9), _check(2_000_000_000 + first9)):
        return False
    base = month - 40 if month >= 40 else month - 20 if month >= 20 else month
    return 0 <= base <= 12 and day <= 31 and 1 <= serial <= 998


def _check(n: int) -> int:
    return 97 - n % 97


def test_hand_computed_insz_examples() -> None:
    assert all(is_valid_insz(v) for v in VALID_INSZ)
    assert not any(is_valid_insz(v) for v in INVALID_INSZ)
    assert _check(851330033) == 70 and _check(850730000) == 61  # the invalid ones are well made


def test_post_2000_rule_needs_the_leading_two() -> None:
    # the same digits with the check computed the pre-2000 way denote someone born in 1901,
    # so they are valid too; any other check number is not
    assert _check(10203012) == 30
    assert is_valid_insz("01020301230")
    assert not is_valid_insz("01020301231")
    got = make_insz(np.array(["2001-02-03"], dtype="datetime64[D]"), np.array([12]))
    assert got.to_pylist() == ["01020301259"]


def test_bis_numbers() -> None:
    numbers = make_insz(
        np.array(["1985-07-30", "1985-07-30", "2010-12-31"], dtype="datetime64[D]"),
        np.array([33, 33, 2]),
        bis=np.array([True, True, False]),
        sex_known=np.array([True, False, True]),
    )
    assert numbers.to_pylist()[0] == "85473003317"
    assert numbers.to_pylist()[1][2:4] == "27"  # month + 20 when the sex is unknown
    assert insz_valid(numbers).tolist() == [True, True, True]
    assert insz_is_bis(numbers).tolist() == [True, True, False]


def test_kbo_and_rsz_examples() -> None:
    assert is_valid_kbo("0403170701")
    assert not is_valid_kbo("0403170702")
    assert not is_valid_kbo("2403170701")  # must start with 0 or 1
    assert kbo_from_base(np.array([4031707])).to_pylist() == ["0403170701"]
    assert is_valid_rsz("123456749")
    assert not is_valid_rsz("123456748")
    assert not is_valid_rsz("000000097")  # registration number 0
    assert rsz_from_base(np.array([1234567])).to_pylist() == ["123456749"]


def test_validation_handles_nulls_and_arrow_input() -> None:
    arr = pa.array(["85073003328", None, "85073003327"])
    assert insz_valid(arr).tolist() == [True, False, False]
    assert kbo_valid(pa.chunked_array([["0403170701"], [None]])).tolist() == [True, False]
    assert rsz_valid(np.array(["123456749", "12345674"], dtype=object)).tolist() == [True, False]


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1920, 1, 1), dt.date(2025, 12, 31)), st.integers(1, 998), st.booleans())
def test_generated_insz_follow_the_rule(day: dt.date, serial: int, bis: bool) -> None:
    got = make_insz(
        np.array([day], dtype="datetime64[D]"), np.array([serial]), bis=np.array([bis])
    ).to_pylist()[0]
    month = day.month + (40 if bis else 0)
    first9 = int(f"{day.year % 100:02d}{month:02d}{day.day:02d}{serial:03d}")
    expected_check = _check(first9 + (2_000_000_000 if day.year >= 2000 else 0))
    assert got == f"{first9:09d}{expected_check:02d}"
    assert is_valid_insz(got)
    # every single-digit change is judged exactly as the literal rules judge it
    mutants = [got[:pos] + str(d) + got[pos + 1 :] for pos in range(11) for d in range(10)]
    mutants = [m for m in mutants if m != got]
    assert insz_valid(mutants).tolist() == [_reference_valid(m) for m in mutants]
    assert sum(_reference_valid(m) for m in mutants) <= 4  # the check catches nearly all typos


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 19_999_999), st.integers(1, 9_999_999))
def test_kbo_rsz_follow_the_rule(kbo_base: int, rsz_base: int) -> None:
    kbo = kbo_from_base(np.array([kbo_base])).to_pylist()[0]
    rsz = rsz_from_base(np.array([rsz_base])).to_pylist()[0]
    assert kbo == f"{kbo_base:08d}{_check(kbo_base):02d}"
    assert rsz == f"{rsz_base:07d}{_check(rsz_base):02d}"
    assert is_valid_kbo(kbo) and is_valid_rsz(rsz)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**11 - 1), max_size=50))
def test_digits_to_arrow_pads(numbers: list[int]) -> None:
    got = digits_to_arrow(np.array(numbers, dtype=np.int64), 11).to_pylist()
    assert got == [f"{n:011d}" for n in numbers]


def test_unique_bases_never_repeat_across_calls() -> None:
    first = unique_bases(5_000, 100_000, 200_000, skip=0, key=3)
    later = unique_bases(5_000, 100_000, 200_000, skip=5_000, key=3)
    both = np.concatenate([first, later])
    assert np.unique(both).size == both.size
    assert both.min() >= 100_000 and both.max() < 200_000
    with pytest.raises(ValueError):
        unique_bases(10, 0, 5)


def test_allocator_gives_unique_numbers_and_falls_back_to_bis() -> None:
    alloc = InszAllocator()
    day = np.datetime64("1990-05-05", "D").astype(np.int64)
    n = 1_200  # more men born on one day than the National Register has serials for (499)
    numbers, bis = alloc.assign(np.full(n, day), np.zeros(n, np.int8), np.zeros(n, bool))
    assert np.unique(numbers).size == n
    text = digits_to_arrow(numbers, 11)
    assert insz_valid(text).all()
    assert int((~bis).sum()) == 499 and bis.sum() == n - 499
    serial = numbers // 100 % 1000
    assert (serial % 2 == 1).all()  # men: odd serials
    more, _ = alloc.assign(np.full(10, day), np.ones(10, np.int8), np.zeros(10, bool))
    assert (more // 100 % 1000 % 2 == 0).all()  # women: even serials
    assert np.intersect1d(more, numbers).size == 0
