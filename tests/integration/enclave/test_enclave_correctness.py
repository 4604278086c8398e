"""The enclave's numbers: kluis.safe.crosstab equals `kluis tables protect` on the same data, the
SQL form equals the crosstab, a PSPP count of 3 is flagged, and a rerun gives the same bytes."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kluis.cli import app
from kluis.deliberation import find
from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")

PY = """import kluis.safe as safe
t = safe.data("table1_next")
year = t.filter(t.year == 2025)
safe.crosstab(year, index="province", columns="age", name="province_age")
workers = year.filter(year.daily_wage_decile.notnull()).mutate(
    decile=year.daily_wage_decile.substr(1).cast("int64"))
safe.pivot_table(workers, values="decile", index="sex", aggfunc="median", name="median_decile")
safe.describe(workers, ["decile", "nr_registration_year"], name="describe_workers")
safe.histogram(workers, "decile", bins=10, range=(0.5, 10.5), name="decile_histogram")
seekers = year.mutate(seeker=(year.sep_code.substr(0, 1) == "2").cast("int64"))
safe.logit("seeker ~ C(sex) + C(age)", seekers, name="seeker_logit")
safe.ols("decile ~ C(sep_code)", workers, name="too_fine")
"""
SQL = """-- output: province_age_sql
SELECT province, age, count(*) AS persons FROM table1_next WHERE year = 2025 GROUP BY ALL;
"""


@pytest.fixture(scope="module")
def runs(enclave_extracts, enclave_home, tmp_path_factory):
    extract = enclave_extracts["26-104-full"]
    glob = (extract / "table1_next/year=2025/*.parquet").as_posix()
    third = duckdb.sql(  # the third smallest sequence number of 2025 (keys are random)
        f"SELECT person_id FROM read_parquet('{glob}') ORDER BY 1 LIMIT 1 OFFSET 2"
    ).fetchall()[0][0]
    sps = (  # three persons of 2025: a frequency table of their year counts 3
        "GET FILE='sav/table1_next_2025.sav' /KEEP=person_id year.\n"
        f"SELECT IF (person_id LE {third}).\n"
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
    spec = {
        "name": "province_age",
        "dimensions": [{"column": "province"}, {"column": "age"}],
        "person_id": "person_id",
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
            "--deliberation",
            str(find("26/104")),
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code == 0, result.output
    theirs = pd.read_csv(tmp_path / "p" / "public" / "province_age.csv", dtype={"province": str})
    ours = pd.read_csv(runs["first"] / "outputs" / "province_age.csv", dtype={"province": str})
    # the same public table: cells, hidden cells and the published/suppressed marks (which do
    # not say which hidden cells are small)
    assert list(ours.columns) == ["province", "age", "persons", "status"]
    assert set(ours["status"]) == {"published", "suppressed"}
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours["persons"].isna().any()  # hidden cells: the comparison means something


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


def test_describe_publishes_only_what_passes(runs, enclave_extracts):
    req = load_request(runs["first"])
    out = req.output("describe_workers")
    assert out.status in ("safe", "suppressed")
    stats = pd.read_csv(runs["first"] / out.files["output"]).set_index("column")
    assert list(stats.columns) == ["mean", "std", "min", "p25", "median", "p75", "max"]
    glob = (enclave_extracts["26-104-full"] / "table1_next/year=2025/*.parquet").as_posix()
    con = duckdb.connect()
    for col in ("nr_registration_year",):
        for ext in ("min", "max"):
            if pd.notna(stats.loc[col, ext]):  # a published extreme is shared by >= 10 persons
                n = con.execute(
                    f"SELECT count(*) FROM read_parquet('{glob}') WHERE "
                    f"daily_wage_decile IS NOT NULL AND {col} = {stats.loc[col, ext]}"
                ).fetchall()[0][0]
                assert n >= 10
    assert stats.loc["decile", "min"] == 1 and stats.loc["decile", "max"] == 10


def test_histogram_bins(runs):
    out = load_request(runs["first"]).output("decile_histogram")
    bins = pd.read_csv(runs["first"] / out.files["output"])
    assert list(bins["decile"])[:10] == [f"[{k - 0.5:g}, {k + 0.5:g})" for k in range(1, 10)] + [
        "[9.5, 10.5]"
    ]
    assert bins["decile"].iloc[-1] == "Total"
    shown = bins["persons"].iloc[:-1].dropna()
    assert ((shown == 0) | (shown >= 10)).all()


def test_models(runs):
    req = load_request(runs["first"])
    logit = req.output("seeker_logit")
    assert logit.status == "safe", logit.reason
    coef = pd.read_csv(runs["first"] / logit.files["output"])
    assert list(coef.columns) == ["term", "coef", "std_err", "z", "p_value", "ci_low", "ci_high"]
    assert "C(sex)[T.2]" in set(coef["term"])
    fit = pd.read_csv(runs["first"] / logit.files["fit"]).set_index("statistic")["value"]
    assert fit["df_resid"] >= 10 and "pseudo_r_squared" in fit.index
    assert not any("resid" in f or "fitted" in f for f in logit.files.values())
    refused = req.output("too_fine")
    assert refused.status == "refused" and "fewer than 10 persons" in refused.reason
    assert refused.files == {}
