"""The audit on its own: exact intervals on a worked example, and claimed moves are verified."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kluis.disclosure.attacker import attack, check_protection, verify_witnesses
from kluis.disclosure.linear import Dimension, TableStructure

from .attacker import with_margins


def _table():
    inner = np.array([[3.0, 20.0, 7.0], [30.0, 40.0, 12.0]])
    full = with_margins(inner)
    ts = TableStructure((Dimension("r", ("a", "b")), Dimension("c", ("x", "y", "z"))))
    return ts, full.ravel()


def test_rectangle_intervals_worked_by_hand():
    ts, values = _table()
    hidden = np.zeros(values.size, bool)
    # hide (a,x)=3, (a,z)=7, (b,x)=30, (b,z)=12: a 2x2 rectangle
    for r, c in ((0, 0), (0, 2), (1, 0), (1, 2)):
        hidden[r * 4 + c] = True
    iv = attack(ts.relations(), values, hidden)
    # (a,x) + (a,z) = 10, (a,x) + (b,x) = 33, all >= 0: (a,x) in [0, 10]
    assert iv.low[0] == 0 and abs(iv.high[0] - 10) < 1e-9
    # (a,z) = 10 - (a,x) and (a,z) + (b,z) = 19, so (b,z) = 9 + (a,x) lies in [9, 19]
    assert abs(iv.low[4 + 2] - 9) < 1e-9 and abs(iv.high[4 + 2] - 19) < 1e-9
    up = np.zeros(values.size)
    up[0] = 5.0
    chk = check_protection(ts.relations(), values, hidden, up, up)
    assert not chk.violated.any()
    up[0] = 8.0  # needs 11: the attacker's maximum is 10
    assert check_protection(ts.relations(), values, hidden, up, up).violated[0]


def test_claimed_moves_are_checked_not_trusted():
    ts, values = _table()
    m = ts.relations()
    hidden = np.zeros(values.size, bool)
    for r, c in ((0, 0), (0, 2), (1, 0), (1, 2)):
        hidden[r * 4 + c] = True
    good = np.zeros(values.size)
    good[[0, 6]] = 2.0
    good[[2, 4]] = -2.0
    broken = good.copy()
    broken[2] = 0.0  # breaks the row relation
    shown = np.zeros(values.size)
    shown[[0, 5]] = 1.0
    shown[[1, 4]] = -1.0  # keeps every relation, but moves published cells (a,y) and (b,y)
    too_far = good * 4  # (a,z)=7 would go below zero
    moves = sp.csc_matrix(np.column_stack([good, broken, shown, too_far]))
    assert list(verify_witnesses(m, values, hidden, 0.0, moves)) == [True, False, False, False]


def test_report_shows_unbounded_attacker_intervals_as_infinity() -> None:
    from kluis.disclosure.report import _fmt

    assert _fmt(float("inf")) == "∞"
    assert _fmt(float("-inf")) == "−∞"
    assert _fmt(float("nan")) == ""
    assert _fmt(1234.0) == "1,234"
