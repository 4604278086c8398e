"""`kluis warehouse nbb-list`: a synthetic NBB list with the selection pattern of 24/074."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.codes import load as load_codes
from kluis.extract.employers.nbb import load_nbb_list
from kluis.schema import table as schema_table
from kluis.warehouse import identifiers as ids
from kluis.warehouse.layout import table_path, write_meta
from kluis.warehouse.nbb import generate_nbb_list, select

N = 6_000


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Employers with NACE, sector and size; employments in 2010 for some of them, and in
    2022 (outside 2003-2021) for others."""
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("nbbwh") / "wh"
    nace = np.array(load_codes("nace").codes)
    emp = {
        "kbo_number": ids.kbo_from_base(np.arange(N) * 3_001 + 1_000),
        "rsz_number": ids.rsz_from_base(np.arange(N) * 1_201 + 7),
        "nace": pa.array(rng.choice(nace, N)),
        "sector": pa.array(np.where(rng.random(N) < 0.1, "2", "1")),
        "founded_year": pa.array(np.full(N, 1990), type=pa.int16()),
        "closed_year": pa.array([None] * N, type=pa.int16()),
        "size_class": pa.array(
            rng.choice(
                [str(i) for i in range(1, 10)],
                N,
                p=[0.45, 0.2, 0.13, 0.1, 0.05, 0.03, 0.02, 0.01, 0.01],
            )
        ),
    }
    employers = pa.table(emp, schema=schema_table("employers").arrow_schema)
    path = table_path(root, "employers")
    path.parent.mkdir(parents=True)
    pq.write_table(employers, path)
    staffed = rng.random(N) < 0.9
    for year, mask in ((2010, staffed), (2022, ~staffed)):
        rsz = employers.column("rsz_number").filter(pa.array(mask))
        n = len(rsz)
        jobs = {
            "insz": pa.array(["00000000097"] * n),
            "rsz_number": rsz,
            "year": pa.array([year] * n, type=pa.int16()),
            "gross_taxable_annual_wage": pa.array(np.full(n, 30_000.0)),
            "fte": pa.array(np.ones(n)),
            "days": pa.array(np.full(n, 300), type=pa.int16()),
            "on_31_dec": pa.array(np.ones(n, dtype=bool)),
        }
        p = table_path(root, "employments", year)
        p.parent.mkdir(parents=True)
        pq.write_table(pa.table(jobs, schema=schema_table("employments").arrow_schema), p)
    write_meta(
        root, {"id": "wh-nbb", "seed": 1, "persons": 0, "years": [2003, 2022], "generator": "test"}
    )
    return root, employers, staffed


def test_population_is_private_employers_with_staff_in_2003_2021(warehouse):
    root, employers, staffed = warehouse
    sel = select(root, seed=1)
    listed = set(sel.table.column("rsz_number").to_pylist())
    sector = dict(
        zip(
            employers.column("rsz_number").to_pylist(),
            employers.column("sector").to_pylist(),
            strict=True,
        )
    )
    assert all(sector[r] == "1" for r in listed)
    unstaffed = set(employers.column("rsz_number").filter(pa.array(~staffed)).to_pylist())
    assert not listed & unstaffed
    eligible = sum(1 for r, s in sector.items() if s == "1" and r not in unstaffed)
    assert 0.8 * eligible < len(listed) < eligible  # most, not all, file annual accounts


def test_automating_firms_lean_to_manufacturing_and_size(warehouse):
    root, employers, _ = warehouse
    sel = select(root, seed=2)
    info = {
        r: (n, s)
        for r, n, s in zip(
            employers.column("rsz_number").to_pylist(),
            employers.column("nace").to_pylist(),
            employers.column("size_class").to_pylist(),
            strict=True,
        )
    }
    section = load_codes("nace").mapping("section")
    rows = list(zip(sel.table.column("rsz_number").to_pylist(), sel.role.to_pylist(), strict=True))
    auto = np.array([role == "automating" for _, role in rows])
    manuf = np.array([section[info[r][0]] == "C" for r, _ in rows])
    large = np.array([int(info[r][1]) >= 5 for r, _ in rows])
    assert auto[manuf].mean() > 3 * auto[~manuf].mean()
    assert auto[large].mean() > 3 * auto[~large].mean()
    roles = set(sel.role.to_pylist())
    assert roles == {"automating", "supplier", "other"}
    group = sel.table.column("group").to_pylist()
    assert all(
        (g == "intervention") == (r != "other")
        for g, r in zip(group, sel.role.to_pylist(), strict=True)
    )


def test_written_list_is_valid_deterministic_and_sorted(warehouse, tmp_path):
    root, employers, _ = warehouse
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate_nbb_list(root, a, seed=5)
    generate_nbb_list(root, b, seed=5)
    generate_nbb_list(root, c, seed=6)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    checked = load_nbb_list(a, employers)
    assert checked.ok and not checked.problems
    kbo = checked.enterprises.column("kbo_number").to_pylist()
    assert kbo == sorted(kbo)


def test_cli_writes_the_list(warehouse, tmp_path):
    root, _, _ = warehouse
    out = tmp_path / "nbb.csv"
    result = CliRunner().invoke(
        app, ["warehouse", "nbb-list", "--warehouse", str(root), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "kbo_number,rsz_number,group"
    bad = CliRunner().invoke(
        app, ["warehouse", "nbb-list", "--warehouse", str(tmp_path / "x"), "--out", str(out)]
    )
    assert bad.exit_code != 0 and "warehouse" in bad.output
