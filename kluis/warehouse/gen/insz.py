"""Hand out unique INSZ and BIS numbers, the way the National Register does: per birth date and
sex a running serial number (odd for men, even for women)."""

from __future__ import annotations

import numpy as np

from kluis.warehouse.identifiers import insz_check

_FIRST_DAY = int(np.datetime64("1900-01-01", "D").astype(np.int64))
_N_DAYS = int(np.datetime64("2060-01-01", "D").astype(np.int64)) - _FIRST_DAY
_MAX_PER_SEX = 499  # serials 001..997 (odd) or 002..998 (even)


class InszAllocator:
    """Keeps, per (register, birth date, sex), how many serial numbers are used."""

    def __init__(self) -> None:
        # register 0 = National Register, 1 = BIS register (month + 40), 2 = BIS (month + 20)
        self.used = np.zeros((3, _N_DAYS * 2), dtype=np.int32)

    def assign(
        self, birth: np.ndarray, sex: np.ndarray, bis: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """INSZ numbers (int64, 11 digits) for new persons; returns (numbers, is_bis).

        A person whose day is full in the National Register gets a BIS number instead.
        """
        birth = np.asarray(birth, dtype=np.int64)
        sex = np.asarray(sex, dtype=np.int64)
        register = np.where(np.asarray(bis, dtype=bool), 1, 0)
        serial = np.zeros(birth.size, dtype=np.int64)
        todo = np.ones(birth.size, dtype=bool)
        for reg in (0, 1, 2):
            idx = np.flatnonzero(todo & (register <= reg))
            if idx.size == 0:
                continue
            key = (birth[idx] - _FIRST_DAY) * 2 + sex[idx]
            if key.min() < 0 or key.max() >= _N_DAYS * 2:
                raise ValueError("birth date outside 1900-2059")
            order = np.argsort(key, kind="stable")
            ks = key[order]
            first = np.r_[True, ks[1:] != ks[:-1]]
            starts = np.flatnonzero(first)
            rank = np.arange(ks.size) - np.repeat(starts, np.diff(np.r_[starts, ks.size]))
            n = self.used[reg][ks] + rank
            ok = n < _MAX_PER_SEX
            chosen = idx[order][ok]
            serial[chosen] = 2 * n[ok] + 1 + sex[chosen]
            register[chosen] = reg
            todo[chosen] = False
            uniq, counts = np.unique(ks[ok], return_counts=True)
            self.used[reg][uniq] += counts.astype(np.int32)
        if todo.any():
            raise ValueError(f"{int(todo.sum())} persons got no INSZ: too many on one birth date")
        days = birth.astype("datetime64[D]")
        years = days.astype("datetime64[Y]").astype(np.int64) + 1970
        months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        mdays = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        months = months + np.select([register == 1, register == 2], [40, 20], 0)
        first9 = ((years % 100) * 10_000 + months * 100 + mdays) * 1000 + serial
        return first9 * 100 + insz_check(first9, years >= 2000), register > 0
