"""The enclave's numbers: kluis.safe.crosstab equals `kluis tables protect` on the same data, the
SQL form equals the crosstab, a PSPP count of 3 is flagged, and a rerun gives the same bytes."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kluis.cli import app
from kluis.deliberation import find, load
from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")

PY = """import kluis.safe as safe
t = safe.data("table1_next")
year = t.filter(t.year == 2025)
safe.crosstab(year, index="province", columns="age", name="province_age")
safe.pivot_table(year.filter(year.daily_wage_decile.notnull()).mutate(
    decile=year.daily_wage_decile.substr(1).cast("int64")), values="decile", index="sex",
    aggfunc="median", name="median_decile")
"""
SQL = """-- output: province_age_sql
SELECT province, age, count(*) AS persons FROM table1_next WHERE year = 2025 GROUP BY ALL;
"""


@pytest.fixture(scope="module")
def runs(enclave_extracts, enclave_home, tmp_path_factory):
    extract = enclave_extracts["26-104-full"]
    sps = (  # three persons of 2025: a frequency table of their year counts 3
        "GET FILE='sav/table1_next_2025.sav' /KEEP=person_id year.\n"
        "SELECT IF (person_id LE 3).\n"
        "FREQUENCIES /VARIABLES=year.\n"
    )
    root = tmp_path_factory.mktemp("correct")
    project = write_project(root / "p", "26/104", {"a.py": PY, "b.sql": SQL, "c.sps": sps})
    out = {}
    for k in ("first", "second"):
        code, text = enclave_run(project, extract, root / k)
        assert code == 0, text
        out[k] = root / k
    return out


def test_crosstab_equals_tables_protect(runs, enclave_extracts, tmp_path):
    extract = enclave_extracts["26-104-full"]
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    micro = tmp_path / "micro.csv"
    duckdb.sql(f"SELECT person_id, province, age FROM read_parquet('{glob}')").to_csv(str(micro))
    r = load(find("26/104")).output_rules
    spec = {
        "name": "province_age",
        "dimensions": [{"column": "province"}, {"column": "age"}],
        "person_id": "person_id",
        "rules": {
            "min_frequency": r.min_cell,
            "p_percent": r.dominance.p,
            "nk": {"n": r.dominance.n, "k": r.dominance.k},
            "protection_ratio": r.protection,
        },
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(
        app,
        [
            "tables",
            "protect",
            str(micro),
            "--spec",
            str(tmp_path / "spec.yaml"),
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code in (0, 1), result.output
    theirs = pd.read_csv(tmp_path / "p" / "province_age.csv", dtype={"province": str})
    ours = pd.read_csv(runs["first"] / "outputs" / "province_age.csv", dtype={"province": str})
    assert list(ours.columns) == ["province", "age", "persons"]  # no statuses leave
    merged = theirs.merge(ours, on=["province", "age"], suffixes=("_protect", "_enclave"))
    assert len(merged) == len(theirs) == len(ours)
    a, b = merged["persons_protect"].to_numpy(), merged["persons_enclave"].to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)])
    assert np.isnan(a).any()  # the table has hidden cells: the comparison means something


def test_sql_equals_the_crosstab(runs):
    out = runs["first"] / "outputs"
    assert (out / "province_age.csv").read_bytes() == (out / "province_age_sql.csv").read_bytes()
    req = load_request(runs["first"])
    assert req.output("province_age_sql").kind == "sql"
    assert req.output("province_age_sql").source == "b.sql:2"


def test_pspp_count_of_three_is_flagged(runs):
    out = load_request(runs["first"]).output("c")
    assert out.kind == "pspp" and out.status == "review"
    threes = [f for f in out.flagged if f["value"] == "3" and f["reason"] == "count below 10"]
    assert threes, out.flagged
    text = (runs["first"] / out.files["output"]).read_text()
    assert "2025,3," in text


def test_a_rerun_gives_the_same_outputs(runs):
    first, second = runs["first"], runs["second"]
    for sub in ("outputs", "internal"):
        for p in sorted((first / sub).rglob("*")):
            if p.is_file() and "logs" not in p.parts and p.suffix != ".html":
                twin = second / p.relative_to(first)
                assert twin.read_bytes() == p.read_bytes(), p.relative_to(first)
    a, b = load_request(first), load_request(second)
    assert [o.model_dump(exclude={"sha256"}) for o in a.outputs] == [
        o.model_dump(exclude={"sha256"}) for o in b.outputs
    ]
