"""Extraction is refused outside the period a deliberation is in force (dates injected)."""

from __future__ import annotations

import datetime as dt

import pytest
from deliberation_cases import SHIPPED
from hypothesis import given
from hypothesis import strategies as st

from kluis.deliberation import NotInForce, check_in_force, load, load_dir, status

D = dt.date


@pytest.fixture(scope="module")
def d26():
    return load(SHIPPED / "26-104.yaml")


@pytest.fixture(scope="module")
def d24130(d26):
    """Deliberation 24/130 of 3 September 2024 as 26/104 describes it (ended by 26/104)."""
    return d26.model_copy(
        update={
            "number": "24/130",
            "date": D(2024, 9, 3),
            "effective": D(2024, 9, 3),
            "ends": (),
            "retention": D(2030, 12, 31),
        }
    )


def test_not_yet_in_effect(d26):
    with pytest.raises(NotInForce) as exc:
        check_in_force(d26, D(2026, 6, 16), {})
    assert "26/104 is not in force" in str(exc.value)
    assert "takes effect on 2026-06-17" in str(exc.value)


def test_in_force_from_the_effective_day(d26):
    assert check_in_force(d26, D(2026, 6, 17), {}).in_force
    assert check_in_force(d26, D(2032, 12, 31), {}).in_force  # last day before destruction


def test_past_retention(d26):
    with pytest.raises(NotInForce) as exc:
        check_in_force(d26, D(2033, 1, 1), {})
    assert "retention date 2032-12-31 has passed" in exc.value.reason


def test_ended_by_a_later_deliberation(d26, d24130):
    registry = {"26/104": d26, "24/130": d24130}
    assert check_in_force(d24130, D(2026, 6, 16), registry).in_force
    with pytest.raises(NotInForce) as exc:
        check_in_force(d24130, D(2026, 6, 17), registry)
    assert "ended by deliberation 26/104, in effect since 2026-06-17" in exc.value.reason
    assert status(d24130, D(2027, 1, 1), registry).ended_by == "26/104"
    # the later deliberation itself is unaffected
    assert check_in_force(d26, D(2027, 1, 1), registry).in_force


def test_registry_as_a_list_and_the_shipped_directory(d26, d24130):
    assert status(d24130, D(2026, 7, 1), [d26]).state == "ended"
    shipped = load_dir(SHIPPED)
    assert set(shipped) >= {"26/104", "24/074"}
    assert status(d24130, D(2026, 7, 1), shipped).state == "ended"
    assert status(shipped["24/074"], D(2026, 7, 1), shipped).state == "in_force"
    assert status(shipped["24/074"], D(2028, 1, 1), shipped).state == "retention_passed"


@given(today=st.dates(D(2020, 1, 1), D(2040, 1, 1)))
def test_in_force_exactly_between_effect_end_and_retention(d26, d24130, today):
    registry = [d26, d24130]
    in_force = d24130.effective <= today <= d24130.retention and today < d26.effective
    try:
        check_in_force(d24130, today, registry)
        refused = False
    except NotInForce:
        refused = True
    assert refused != in_force
