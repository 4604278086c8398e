"""26/104 panels on a hand-made warehouse: every count and link can be checked by hand.

Each person carries a distinct registration year (an authorised, uncoarsened variable), which
the tests use as a tag to find the person's rows without touching the pseudonyms.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.deliberation import NotInForce
from kluis.extract.run import run_extract
from kluis.pseudonym import KeyStore
from tests.spec.tinywh import (
    D,
    insz_numbers,
    person,
    person_year,
    small_deliberation,
    spell,
    write_warehouse,
)

TODAY = dt.date(2026, 11, 22)
IDS = dict(zip("ABCDEFGHIJ", insz_numbers(10, seed=5), strict=True))
TAG = {k: 1990 + i for i, k in enumerate("ABCDEFGHIJ")}  # registration year = person tag
BIRTH = {
    "A": D(1990, 5, 1),
    "B": D(2009, 12, 31),
    "C": D(2010, 1, 1),
    "D": D(1960, 6, 1),
    "E": D(1985, 1, 1),
    "F": D(1980, 1, 1),
    "G": D(1970, 1, 1),
    "H": D(1975, 1, 1),
    "I": D(1995, 1, 1),
    "J": D(1958, 1, 1),
}
EXPECTED = {2024: set("ABDFGI"), 2025: set("ABC"), 2026: set("ABCFI")}


def _rows() -> dict[str, list[dict]]:
    persons = [
        person(
            IDS[k],
            BIRTH[k],
            nr_registration_year=TAG[k],
            waiting_register=(k == "E"),
            death_date={"G": D(2025, 3, 1), "H": D(2024, 6, 1)}.get(k),
        )
        for k in IDS
    ]
    py = []
    prov = {2024: "10000", 2025: "21000", 2026: "60000"}
    for y in (2024, 2025, 2026):
        for k in IDS:
            age = y - BIRTH[k].year
            if not 13 <= age <= 66:
                continue
            if k == "G" and y >= 2025:  # died in 2025: no row after the death
                continue
            if k == "H" and y >= 2025:
                continue
            if k == "I" and y == 2025:  # abroad in 2025
                continue
            kw = {
                "province": prov[y],
                "sep_code": "1.1.1" if y != 2025 else "2.1",
                "gross_daily_wage": 100.0 + y - 2024 + 10 * "ABCDEFGHIJ".index(k),
            }
            if k == "D" and y == 2025:
                kw["province"] = "80000"
            if k == "F" and y == 2025:
                kw.update(resident=False, province=None)
            if k == "A" and y == 2025:
                kw.update(
                    n_children=2,
                    months_unemployed=5,
                    nace=None,
                    work_performance_type=None,
                    gross_daily_wage=None,
                )
            py.append(person_year(IDS[k], y, **kw))
    spells = [
        spell(
            IDS["A"],
            2025,
            "INC",
            D(2025, 2, 10),
            None,
            incapacity_day_type="2",
            medical_code_type="1",
            medical_code="V",
        ),
        spell(
            IDS["A"],
            2025,
            "PAY",
            D(2025, 3, 1),
            D(2025, 11, 30),
            benefit_type="3",
            benefit_code="21",
        ),
    ]
    welfare = [
        {"insz": IDS["A"], "year": 2024, "level": 1, "support_type": "2"},
        {"insz": IDS["A"], "year": 2024, "level": 2, "support_type": "2.3"},
    ]
    return {
        "persons": persons,
        "person_year": py,
        "ss_spells": spells,
        "welfare_support": welfare,
        "disability_allowances": [{"insz": IDS["B"], "year": 2025, "allowance_type": "2"}],
    }


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("hand")
    wh = write_warehouse(base / "wh", (2024, 2026), _rows())
    delib = small_deliberation(base / "delib", (2024, 2026))
    ks = base / "ks"
    KeyStore(ks).create("26/104")
    out = base / "out"
    run_extract(
        delib,
        wh,
        "full",
        out,
        keystore=ks,
        today=TODAY,
        registry={},
        formats=("parquet", "sav", "dta"),
    )
    return {"wh": wh, "delib": delib, "ks": ks, "out": out, "base": base}


def _rows_by_tag(out: Path, table: str, year: int) -> dict[str, dict]:
    rows = pq.read_table(out / table / f"year={year}" / "part-0.parquet").to_pylist()
    by_year = {v: k for k, v in TAG.items()}
    return {by_year[r["nr_registration_year"]]: r for r in rows}


def test_population_of_each_year_is_exactly_the_deliberations(setup) -> None:
    for table in ("table1_next", "table2_previous"):
        for year, expected in EXPECTED.items():
            assert set(_rows_by_tag(setup["out"], table, year)) == expected, (table, year)


def test_pseudonyms_are_dense_and_the_same_across_years_and_tables(setup) -> None:
    ids: dict[str, set[int]] = {}
    for table in ("table1_next", "table2_previous"):
        for year in EXPECTED:
            for k, r in _rows_by_tag(setup["out"], table, year).items():
                ids.setdefault(k, set()).add(r["person_id"])
    assert all(len(v) == 1 for v in ids.values())
    assert sorted(next(iter(v)) for v in ids.values()) == list(range(1, 8))  # A B C D F G I


def test_next_year_values_are_the_persons_own_row_of_next_year(setup) -> None:
    t24 = _rows_by_tag(setup["out"], "table1_next", 2024)
    t25 = _rows_by_tag(setup["out"], "table1_next", 2025)
    nxt = [c[:-5] for c in t24["A"] if c.endswith("_next") and c != "deceased_next"]
    assert len(nxt) > 60
    for k in ("A", "B"):  # in the population both years
        for c in nxt:
            assert t24[k][c + "_next"] == t25[k][c], (k, c)
    a = t24["A"]
    assert (a["province"], a["province_next"]) == ("10000", "21000")
    assert a["sep_code_next"] == "2.1" and a["incapacity_start_next"] == "2025-02"
    assert a["incapacity_end_next"] is None and a["payment_end_next"] == "2025-11"
    assert a["medical_code_next"] == "V" and a["benefit_code_next"] == "21"
    assert a["welfare_support_level1"] == "2" and a["welfare_support_level2"] == "2.3"
    assert a["welfare_support_level1_next"] is None
    assert a["deceased_next"] is False
    assert t24["B"]["disability_allowance_type_next"] == "2"


def test_next_year_values_come_from_the_record_even_outside_the_population(setup) -> None:
    t24 = _rows_by_tag(setup["out"], "table1_next", 2024)
    assert t24["D"]["province_next"] == "80000"  # 65 in 2025: not in the population, has a row
    assert t24["F"]["province"] == "10000" and t24["F"]["province_next"] is None  # abroad


def test_death_and_absence_in_the_next_year(setup) -> None:
    t24 = _rows_by_tag(setup["out"], "table1_next", 2024)
    g, i = t24["G"], t24["I"]
    assert g["deceased_next"] is True
    assert i["deceased_next"] is False
    for row in (g, i):
        others = [c for c in row if c.endswith("_next") and c != "deceased_next"]
        assert all(row[c] is None for c in others)


def test_previous_year_values_and_years_outside_the_warehouse(setup) -> None:
    out = setup["out"]
    t25 = _rows_by_tag(out, "table2_previous", 2025)
    assert (t25["A"]["province"], t25["A"]["province_prev"]) == ("21000", "10000")
    assert t25["C"]["province_prev"] == "10000"  # 14 in 2024: a row, not in the population
    first = pq.read_table(out / "table2_previous/year=2024/part-0.parquet")
    last = pq.read_table(out / "table1_next/year=2026/part-0.parquet")
    for t, suffix in ((first, "_prev"), (last, "_next")):
        cols = [c for c in t.column_names if c.endswith(suffix)]
        assert cols and all(t.column(c).null_count == t.num_rows for c in cols)
    codebook = (out / "codebook.md").read_text()
    assert "2024: the *_prev columns are empty: year 2023 is outside the warehouse" in codebook
    assert "2026: the *_next columns are empty: year 2027 is outside the warehouse" in codebook


def test_only_authorised_columns_each_through_its_coarsening(setup) -> None:
    from kluis.deliberation import load

    d = load(setup["delib"])
    t = pq.read_table(setup["out"] / "table1_next/year=2024/part-0.parquet")
    spec = d.tables[0]
    allowed = {"year", *spec.variables, *(f"{v}_next" for v in spec.next_year)}
    assert set(t.column_names) == allowed
    assert "deceased" not in t.column_names  # year T carries no death indicator
    ages = set(t.column("age").cast("string").to_pylist())
    assert ages <= {
        "15-19",
        "20-24",
        "25-29",
        "30-34",
        "35-39",
        "40-44",
        "45-49",
        "50-54",
        "55-59",
        "60-64",
    }
    assert set(t.column("nationality").cast("string").to_pylist()) == {"Belgium"}


def test_no_direct_identifier_reaches_any_file(setup) -> None:
    import pyreadstat

    out = setup["out"]
    secrets = set(IDS.values()) | {b.isoformat() for b in BIRTH.values()}
    secrets |= {b.strftime("%Y%m%d") for b in BIRTH.values()}
    forbidden_cols = {"insz", "birth_date", "death_date", "household_id", "rsz_number"}
    values: set[str] = set()
    for f in out.rglob("*.parquet"):
        t = pq.read_table(f)
        assert not forbidden_cols & set(t.column_names)
        assert not any("date" in str(field.type) for field in t.schema)
        for col in t.columns:
            values |= {str(v) for v in col.to_pylist() if v is not None}
    for f in [*out.rglob("*.sav"), *out.rglob("*.dta")]:
        reader = pyreadstat.read_sav if f.suffix == ".sav" else pyreadstat.read_dta
        df, _meta = reader(str(f))
        assert not forbidden_cols & set(df.columns)
        for c in df.columns:
            values |= {str(v) for v in df[c].dropna().tolist()}
    for f in [*out.rglob("*.json"), *out.rglob("*.md")]:
        text = f.read_text()
        assert not any(s in text for s in secrets), f
    assert not values & secrets
    key = KeyStore(setup["ks"]).load("26/104")
    for f in out.rglob("*"):
        if f.is_file():
            assert key.key.hex().encode() not in f.read_bytes()
            assert key.key not in f.read_bytes()


def test_manifest_records_provenance_and_hashes(setup) -> None:
    import hashlib
    import json

    from kluis.extract.delivery.publish import verify

    out = setup["out"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["deliberation"] == "26/104" and m["engine"] == "duckdb" and m["phase"] == "full"
    assert m["deliberation_sha256"] == hashlib.sha256(setup["delib"].read_bytes()).hexdigest()
    assert m["key_fingerprint"] == KeyStore(setup["ks"]).load("26/104").fingerprint
    assert m["warehouse_id"].startswith("wh-test-")
    assert m["rows"]["table1_next"] == {str(y): len(s) for y, s in EXPECTED.items()}
    assert verify(out) == []
    dp = json.loads((out / "datapackage.json").read_text())
    fields = {f["name"]: f for f in dp["resources"][0]["schema"]["fields"]}
    assert [c["value"] for c in fields["age"]["categories"]][:2] == ["15-19", "20-24"]
    assert fields["province"]["categories"][0] == {"value": "10000", "label": "Antwerp", "code": 1}
    assert fields["person_id"]["type"] == "integer"


def test_refused_when_not_in_force_or_without_key(setup, tmp_path: Path) -> None:
    args = (setup["delib"], setup["wh"], "full")
    with pytest.raises(NotInForce, match="takes effect on 2026-06-17"):
        run_extract(
            *args, tmp_path / "o", keystore=setup["ks"], today=dt.date(2026, 6, 1), registry={}
        )
    with pytest.raises(NotInForce, match="retention"):
        run_extract(
            *args, tmp_path / "o", keystore=setup["ks"], today=dt.date(2033, 1, 1), registry={}
        )
    from kluis.pseudonym import KeyStoreError

    with pytest.raises(KeyStoreError):
        run_extract(*args, tmp_path / "o", keystore=tmp_path / "empty", today=TODAY, registry={})
    assert not (tmp_path / "o").exists()


def test_cli_extract_and_its_errors(setup, tmp_path: Path) -> None:
    runner = CliRunner()
    common = [
        str(setup["delib"]),
        "--warehouse",
        str(setup["wh"]),
        "--keystore",
        str(setup["ks"]),
        "--phase",
        "full",
    ]
    r = runner.invoke(
        app, ["extract", *common, "--out", str(tmp_path / "o"), "--today", "2026-06-01"]
    )
    assert r.exit_code == 1 and "not in force" in r.output
    r = runner.invoke(
        app,
        [
            "extract",
            *common,
            "--out",
            str(tmp_path / "o"),
            "--today",
            "2026-11-22",
            "--format",
            "parquet,xlsx",
        ],
    )
    assert r.exit_code != 0 and "xlsx" in r.output
    r = runner.invoke(
        app, ["extract", *common, "--out", str(tmp_path / "o"), "--today", "2026-11-22"]
    )
    assert r.exit_code == 0, r.output
    assert "table1_next: 2024: 6, 2025: 3, 2026: 5" in r.output
    same = [p.relative_to(tmp_path / "o") for p in (tmp_path / "o").rglob("*.parquet")]
    assert all((tmp_path / "o" / p).read_bytes() == (setup["out"] / p).read_bytes() for p in same)


def test_sav_and_dta_carry_the_same_rows(setup) -> None:
    import pyreadstat

    out = setup["out"]
    pqt = pq.read_table(out / "table1_next/year=2024/part-0.parquet")
    df, meta = pyreadstat.read_sav(str(out / "sav/table1_next_2024.sav"))
    assert df["person_id"].tolist() == pqt.column("person_id").to_pylist()
    prov = pqt.column("province").cast("string").to_pylist()
    labels = meta.variable_value_labels["province"]
    assert [labels[int(c)].split(" ")[0] for c in df["province"]] == prov
    dta, dmeta = pyreadstat.read_dta(str(out / "dta/table1_next_2024.dta"))
    assert dta["person_id"].tolist() == df["person_id"].tolist()
    assert "st_work_career_break_par_next" in dta.columns


def _start(setup, out: Path, phase: str, formats: str = "parquet,sav"):
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "kluis.cli",
        "extract",
        str(setup["delib"]),
        "--warehouse",
        str(setup["wh"]),
        "--keystore",
        str(setup["ks"]),
        "--phase",
        phase,
        "--out",
        str(out),
        "--today",
        "2026-11-22",
        "--format",
        formats,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(proc, condition, timeout: float = 120.0) -> bool:
    """SIGKILL `proc` as soon as `condition()` holds; False if it finished first."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            proc.kill()
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("condition never held")


def test_killed_run_leaves_nothing_or_the_previous_extract(setup, tmp_path: Path) -> None:
    import json

    from kluis.extract.delivery.publish import verify

    out = tmp_path / "out"
    half = lambda: any(tmp_path.glob(".out.tmp-*/table1_next/year=2025/*.parquet"))  # noqa: E731
    assert _kill_when(_start(setup, out, "full"), half)
    assert not out.exists()  # killed mid-write: no OUT at all
    assert list(tmp_path.glob(".out.tmp-*"))  # (its temporary is left for the next run)

    run_extract(
        setup["delib"], setup["wh"], "full", out, keystore=setup["ks"], today=TODAY, registry={}
    )
    assert not list(tmp_path.glob(".out.tmp-*"))  # stale temporary of the dead run removed
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    # a rerun (the same phase: another phase may not replace it) killed mid-write
    assert _kill_when(_start(setup, out, "full", formats="parquet"), half)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    ready = lambda: any(tmp_path.glob(".out.tmp-*/manifest.json"))  # noqa: E731
    _kill_when(_start(setup, out, "full"), ready)
    assert verify(out) == []  # whether killed just before or after the swap: a whole extract
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["phase"] == "full" and manifest["formats"] in (["parquet"], ["parquet", "sav"])
