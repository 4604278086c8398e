"""Fixtures of the unit tests that run commands on a real (tiny) warehouse."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deliberations"


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~300 residents a year, 2017-2026: enough for both seed deliberations to extract something
    in a few seconds. Read-only: copy it (see `warehouse_copy`) before changing anything."""
    from kluis.warehouse.generate import generate_warehouse

    out = tmp_path_factory.mktemp("tiny") / "wh"
    generate_warehouse(out, persons=300, years=(2017, 2026), seed=3)
    return out


@pytest.fixture(scope="session")
def seed_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key store with the keys of both seed deliberations."""
    from kluis.pseudonym import KeyStore

    store = tmp_path_factory.mktemp("keys") / "store"
    for number in ("26/104", "24/074"):
        KeyStore(store).create(number)
    return store


@pytest.fixture(scope="session")
def tiny_nbb_list(tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kluis.warehouse.nbb import generate_nbb_list

    out = tmp_path_factory.mktemp("nbb") / "nbb.csv"
    generate_nbb_list(tiny_warehouse, out, seed=1)
    return out


@pytest.fixture
def warehouse_copy(tiny_warehouse: Path, tmp_path: Path) -> Callable[..., Path]:
    """`warehouse_copy(rel, change)`: a copy of the tiny warehouse (hard links) in which the file
    `rel` is replaced by `change(original bytes or table)`: the shared warehouse is never
    touched (the link is removed before the new file is written)."""

    def make(rel: str, change: Callable[[Path, Path], None]) -> Path:
        dst = tmp_path / "wh-changed"
        shutil.copytree(tiny_warehouse, dst, copy_function=os.link)
        target = dst / rel
        target.unlink()
        change(tiny_warehouse / rel, target)
        return dst

    return make
