"""Belgian identifiers with check digits: INSZ (national register and BIS), KBO, RSZ.

Generation and validation are vectorised over NumPy / Arrow arrays because the generator makes
millions of them and the validator checks millions of them; scalar helpers wrap the same code.

Rules (BRIEF section 5):

* INSZ ``YYMMDDsssCC``: ``sss`` odd for men, even for women; ``CC = 97 - (N mod 97)`` where ``N``
  is the first 9 digits read as a number, with a ``2`` put in front (``2YYMMDDsss``) for births
  from 2000 on. A number is valid when either form matches (the century is not in the number).
  BIS numbers use the same check with the birth month raised by 20 (sex unknown) or 40 (sex known).
* KBO enterprise number: 10 digits starting with 0 or 1; last two = ``97 - (first 8 mod 97)``.
* RSZ employer registration number: 9 digits, a 7-digit registration number and 2 check digits.
  The public sources give no formula for the check digits, so kluis uses the same mod-97 rule as
  KBO: ``check = 97 - (registration number mod 97)``. Documented in docs/warehouse.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "insz_check",
    "make_insz",
    "insz_valid",
    "insz_is_bis",
    "is_valid_insz",
    "kbo_from_base",
    "kbo_valid",
    "is_valid_kbo",
    "rsz_from_base",
    "rsz_valid",
    "is_valid_rsz",
    "with_check_digits",
    "KBO_RULE",
    "RSZ_RULE",
    "digits_to_arrow",
    "unique_bases",
]

_ASCII_0 = 48


# ---------------------------------------------------------------------------------- helpers


def digits_to_arrow(numbers: np.ndarray, width: int) -> pa.StringArray:
    """Non-negative integers as zero-padded decimal strings of `width` digits (an Arrow array).

    Builds the Arrow buffers directly, which is ~50x faster than formatting in Python.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"numbers do not fit in {width} digits")
    n = numbers.size
    chars = np.empty((n, width), dtype=np.uint8)
    rest = numbers.copy()
    for pos in range(width - 1, -1, -1):
        chars[:, pos] = (rest % 10).astype(np.uint8) + _ASCII_0
        rest //= 10
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(chars.tobytes())
    )


def _as_digit_matrix(values: object, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n x width digit matrix, mask of entries that are exactly `width` ASCII digits)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if values.type != pa.string():
        values = values.cast(pa.string())
    ok = pc.and_kleene(
        pc.equal(pc.binary_length(values), width),
        pc.match_substring_regex(values, f"^[0-9]{{{width}}}$"),
    )
    ok = pc.fill_null(ok, False)
    clean = pc.if_else(ok, values, pa.scalar("0" * width))
    clean = clean.combine_chunks() if isinstance(clean, pa.ChunkedArray) else clean
    n = len(clean)
    buf = clean.buffers()[2]
    off = np.frombuffer(clean.buffers()[1], dtype=np.int32, count=n + 1, offset=clean.offset * 4)
    raw = np.frombuffer(buf, dtype=np.uint8)[off[0] : off[0] + n * width]
    digits = raw.reshape(n, width).astype(np.int64) - _ASCII_0
    return digits, ok.to_numpy(zero_copy_only=False)


def _number(digits: np.ndarray, start: int, stop: int) -> np.ndarray:
    out = np.zeros(digits.shape[0], dtype=np.int64)
    for pos in range(start, stop):
        out = out * 10 + digits[:, pos]
    return out


def unique_bases(n: int, low: int, high: int, skip: int = 0, key: int = 0) -> np.ndarray:
    """`n` distinct integers in [low, high) that look random: an affine bijection of the indices
    `skip .. skip + n - 1` (the same `key` always gives the same bijection).

    Pass the count already drawn as `skip` so that numbers drawn later never repeat earlier ones.
    """
    span = high - low
    if span <= 0 or skip + n > span:
        raise ValueError(f"cannot draw {skip + n} distinct numbers from a range of {span}")
    rng = np.random.default_rng([key, low, high])
    mult = int(rng.integers(max(span // 3, 1), max(span // 2, 2)))
    while np.gcd(mult, span) != 1:
        mult += 1
    shift = int(rng.integers(0, span))
    idx = np.arange(skip, skip + n, dtype=np.int64)
    # span < 2**31, so mult * idx < 2**62: no overflow
    return low + (mult * idx + shift) % span


# ------------------------------------------------------------------------------------ INSZ


def insz_check(first9: np.ndarray, born_2000: np.ndarray | bool) -> np.ndarray:
    """Check number CC for the 9-digit prefix YYMMDDsss (97 when the remainder is 0)."""
    first9 = np.asarray(first9, dtype=np.int64)
    n = first9 + np.where(np.asarray(born_2000), 2_000_000_000, 0)
    return 97 - n % 97


def make_insz(
    birth_date: np.ndarray,
    serial: np.ndarray,
    bis: np.ndarray | None = None,
    sex_known: np.ndarray | bool = True,
) -> pa.StringArray:
    """INSZ (or BIS when `bis`) numbers from birth dates (datetime64[D]) and serials 1..998.

    The serial's parity must already encode the sex (odd = male, even = female).
    """
    bd = np.asarray(birth_date, dtype="datetime64[D]")
    serial = np.asarray(serial, dtype=np.int64)
    if serial.size and (serial.min() < 1 or serial.max() > 998):
        raise ValueError("INSZ serial numbers must be in 1..998")
    years = bd.astype("datetime64[Y]").astype(np.int64) + 1970
    months = bd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (bd - bd.astype("datetime64[M]")).astype(np.int64) + 1
    if bis is not None:
        bis = np.asarray(bis, dtype=bool)
        months = months + np.where(bis, np.where(np.asarray(sex_known), 40, 20), 0)
    first9 = ((years % 100) * 10_000 + months * 100 + days) * 1000 + serial
    check = insz_check(first9, years >= 2000)
    return digits_to_arrow(first9 * 100 + check, 11)


def insz_valid(values: object) -> np.ndarray:
    """Boolean mask: each value is an 11-digit INSZ or BIS number with a correct check number
    (tried for births before and from 2000) and a plausible month, day and serial."""
    d, ok = _as_digit_matrix(values, 11)
    first9 = _number(d, 0, 9)
    check = _number(d, 9, 11)
    month = _number(d, 2, 4)
    day = _number(d, 4, 6)
    serial = _number(d, 6, 9)
    base_month = month % 20  # BIS adds 20 or 40; month 0 = unknown
    good = ok & ((check == insz_check(first9, False)) | (check == insz_check(first9, True)))
    good &= (month <= 12) | ((month >= 20) & (month <= 32)) | ((month >= 40) & (month <= 52))
    good &= (base_month <= 12) & (day <= 31) & (serial >= 1) & (serial <= 998)
    return good


def insz_is_bis(values: object) -> np.ndarray:
    """Boolean mask: the (well-formed) number is a BIS number (month raised by 20 or 40)."""
    d, ok = _as_digit_matrix(values, 11)
    return ok & (_number(d, 2, 4) >= 20)


def is_valid_insz(value: str) -> bool:
    """Scalar form of `insz_valid`."""
    return bool(insz_valid([value])[0])


# ------------------------------------------------------------------------------- KBO / RSZ

#: what a valid number looks like, for messages (the validator's report, the NBB list check)
KBO_RULE = (
    "not a valid KBO enterprise number (10 digits starting 0 or 1, check digits "
    "97 - (first 8 digits mod 97))"
)
RSZ_RULE = (
    "not a valid RSZ employer number (9 digits: a 7-digit registration number and 2 check "
    "digits 97 - (7 digits mod 97))"
)


def with_check_digits(base: np.ndarray) -> np.ndarray:
    """`base` followed by its two mod-97 check digits, 97 - (base mod 97): the one rule of KBO
    and RSZ numbers (as integers; the generator keeps them so)."""
    base = np.asarray(base, dtype=np.int64)
    return base * 100 + 97 - base % 97


def _from_base(base: np.ndarray, low: int, high: int, width: int, what: str) -> pa.StringArray:
    base = np.asarray(base, dtype=np.int64)
    if base.size and (base.min() < low or base.max() >= high):
        raise ValueError(f"{what} must be in {low:,}..{high - 1:,}")
    return digits_to_arrow(with_check_digits(base), width)


def _check_digits_ok(values: object, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid mask, digit matrix, base) of `width`-digit numbers ending in mod-97 digits."""
    d, ok = _as_digit_matrix(values, width)
    base = _number(d, 0, width - 2)
    return ok & (_number(d, width - 2, width) == with_check_digits(base) % 100), d, base


def kbo_from_base(base: np.ndarray) -> pa.StringArray:
    """KBO numbers from 8-digit bases (first digit 0 or 1, i.e. base < 20,000,000)."""
    return _from_base(base, 0, 20_000_000, 10, "KBO bases (first digit 0 or 1)")


def kbo_valid(values: object) -> np.ndarray:
    """Boolean mask: 10 digits, first 0 or 1, last two = 97 - (first 8 mod 97)."""
    ok, d, _ = _check_digits_ok(values, 10)
    return ok & (d[:, 0] <= 1)


def is_valid_kbo(value: str) -> bool:
    """Scalar form of `kbo_valid`."""
    return bool(kbo_valid([value])[0])


def rsz_from_base(base: np.ndarray) -> pa.StringArray:
    """RSZ numbers (9 digits) from 7-digit registration numbers."""
    return _from_base(base, 1, 10_000_000, 9, "RSZ registration numbers")


def rsz_valid(values: object) -> np.ndarray:
    """Boolean mask: 9 digits, last two = 97 - (first 7 mod 97), registration number > 0."""
    ok, _, base = _check_digits_ok(values, 9)
    return ok & (base > 0)


def is_valid_rsz(value: str) -> bool:
    """Scalar form of `rsz_valid`."""
    return bool(rsz_valid([value])[0])


def as_list(values: pa.Array | Sequence[str]) -> list[str]:
    """Convenience for tests and messages: an Arrow/NumPy array of identifiers as Python strings."""
    return values.to_pylist() if isinstance(values, pa.Array) else list(values)
