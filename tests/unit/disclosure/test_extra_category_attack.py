"""Attack: the same table twice, the second with one more category (and the persons in it).
Alone each is protected; their margins differ, so together they give hidden cells away unless
the second is audited against the first."""

from __future__ import annotations

import pytest

from kluis.disclosure.api import run

from .linked_attacker import below_protection, pinned_small, plain
from .test_attacks import PROVINCES, _attacker, _micro, _release, _released, _spec


@pytest.mark.parametrize("seed", [1])
def test_a_table_with_one_extra_category(tmp_path, seed):
    df = _micro(seed, 500)
    abc = df[df["v"] != "d"]
    dims_abc = [plain("province", PROVINCES), plain("v", list("abc"))]
    dims_all = [plain("province", PROVINCES), plain("v", list("abcd"))]
    alone = [
        _release(run(abc, _spec("abc", ["province", "v"])), abc, dims_abc),
        _release(run(df, _spec("abcd", ["province", "v"])), df, dims_all),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.hidden_cells(), below_protection(10)), "the attack works"

    first = run(abc, _spec("abc", ["province", "v"]), history=tmp_path)
    second = run(df, _spec("abcd", ["province", "v"]), history=tmp_path)
    assert first.ok
    released = _released(
        [(first, _release(first, abc, dims_abc)), (second, _release(second, df, dims_all))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []
    assert att.disclosures(att.differences(), pinned_small(10)) == []
