"""The employer extract (24/074) on a hand-made warehouse, checked against an independent count.

The warehouse below is written straight from the schema declaration with NumPy (not by the
generator), and the expected cells are recounted from the same rows in plain Python: counts per
employer × year × level × field, the class of each mean, the employer's mean age class.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kluis.deliberation.coarsening import scheme
from kluis.deliberation.load import load as load_deliberation
from kluis.engine import connect
from kluis.extract.context import ExtractContext
from kluis.extract.employers.build import build, enterprise_map
from kluis.extract.employers.nbb import NbbList, load_nbb_list
from kluis.pseudonym import PseudonymKey
from kluis.schema import table as schema_table
from kluis.warehouse import identifiers as ids
from kluis.warehouse.layout import read_meta, table_path, write_meta

REPO = Path(__file__).resolve().parents[3]
DELIBERATION = REPO / "deliberations" / "24-074.yaml"
YEARS = (2019, 2020, 2021)
LEVELS = ["310", "330", "610", "710", "999"]
FIELDS = ["041", "061", "071"]
N_EMPLOYERS = 7
N_PERSONS = 160


def _default(field: pa.Field, n: int) -> pa.Array:
    t = field.type
    if pa.types.is_boolean(t):
        return pa.array(np.zeros(n, dtype=bool))
    if pa.types.is_string(t):
        return pa.array([None if field.nullable else "0"] * n, type=t)
    if pa.types.is_date(t):
        return pa.array([None if field.nullable else dt.date(2000, 1, 1)] * n, type=t)
    return pa.array([None if field.nullable else 0] * n, type=t)


def write_table(root: Path, name: str, columns: dict, year: int | None = None) -> None:
    """Write `columns` as warehouse table `name`, filling undeclared columns with defaults."""
    schema = schema_table(name).arrow_schema
    n = len(next(iter(columns.values())))
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else _default(f, n)
        for f in schema
    ]
    path = table_path(root, name, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)


class Tiny:
    """A warehouse of 7 employers (6 listed, 1 not) and 160 persons, 2019-2021, plus the rows
    it was built from, kept for the independent count."""

    def __init__(self, root: Path, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.root = root
        births = np.array(
            [
                dt.date(1960 + int(y), 1 + int(m), 1)
                for y, m in zip(
                    rng.integers(0, 40, N_PERSONS), rng.integers(0, 12, N_PERSONS), strict=True
                )
            ],
            dtype="datetime64[D]",
        )
        self.insz = ids.make_insz(
            births, np.arange(1, N_PERSONS + 1) * 2 % 997 + 1, bis=np.zeros(N_PERSONS, dtype=bool)
        ).to_pylist()
        self.birth = {p: b.astype(object) for p, b in zip(self.insz, births, strict=True)}
        self.rsz = ids.rsz_from_base(np.arange(1, N_EMPLOYERS + 1) * 104_729).to_pylist()
        self.kbo = ids.kbo_from_base(np.arange(1, N_EMPLOYERS + 1) * 1_299_709).to_pylist()
        write_table(
            root,
            "persons",
            {
                "insz": self.insz,
                "birth_date": list(births.astype(object)),
                "sex": ["1"] * N_PERSONS,
                "nationality": ["BE"] * N_PERSONS,
            },
        )
        write_table(
            root,
            "employers",
            {
                "kbo_number": self.kbo,
                "rsz_number": self.rsz,
                "nace": ["25"] * N_EMPLOYERS,
                "sector": ["1"] * N_EMPLOYERS,
                "founded_year": [1990] * N_EMPLOYERS,
                "size_class": ["3"] * N_EMPLOYERS,
            },
        )
        self.jobs: dict[int, list[tuple]] = {}
        self.education: dict[int, dict[str, tuple[str, str]]] = {}
        for year in YEARS:
            # some persons have no person-year row: their education is unknown (999)
            has_row = rng.random(N_PERSONS) > 0.05
            lev = rng.choice(LEVELS, N_PERSONS)
            fld = rng.choice(FIELDS, N_PERSONS)
            self.education[year] = {
                p: (lev[i], fld[i]) for i, p in enumerate(self.insz) if has_row[i]
            }
            rows = [p for i, p in enumerate(self.insz) if has_row[i]]
            write_table(
                root,
                "person_year",
                {
                    "insz": rows,
                    "year": [year] * len(rows),
                    "education_level": [self.education[year][p][0] for p in rows],
                    "education_field": [self.education[year][p][1] for p in rows],
                },
                year,
            )
            jobs = []
            for _i, p in enumerate(self.insz):
                employers = rng.choice(N_EMPLOYERS, size=int(rng.integers(0, 3)), replace=False)
                for e in employers:
                    wage = float(np.round(rng.gamma(3.0, 12_000.0), 2))
                    fte = float(np.round(rng.uniform(0.1, 1.0), 3))
                    jobs.append((p, self.rsz[e], wage, fte, bool(rng.random() < 0.8)))
            self.jobs[year] = jobs
            write_table(
                root,
                "employments",
                {
                    "insz": [j[0] for j in jobs],
                    "rsz_number": [j[1] for j in jobs],
                    "year": [year] * len(jobs),
                    "gross_taxable_annual_wage": [j[2] for j in jobs],
                    "fte": [j[3] for j in jobs],
                    "days": [300] * len(jobs),
                    "on_31_dec": [j[4] for j in jobs],
                },
                year,
            )
        write_meta(
            root,
            {
                "id": "wh-tiny",
                "seed": seed,
                "persons": N_PERSONS,
                "years": [YEARS[0], YEARS[-1]],
                "generator": "test",
            },
        )
        # The NBB list: employers 0..5 (employer 6 is not listed); group by parity.
        self.groups = {self.rsz[e]: ("intervention" if e % 2 else "control") for e in range(6)}
        lines = ["kbo_number,rsz_number,group"] + [
            f"{self.kbo[e]},{self.rsz[e]},{self.groups[self.rsz[e]]}" for e in range(6)
        ]
        self.nbb = root.parent / "nbb.csv"
        self.nbb.write_text("\n".join(lines) + "\n")

    def expected(self, employees: str) -> tuple[dict, dict]:
        """Independent count: {(rsz, year, level, field): (n, wage class, fte class)} and
        {(rsz, year): (group, age class)}."""
        wage_s, fte_s = scheme("annual_wage_classes"), scheme("fte_mean_classes")
        age_s = scheme("mean_age_classes")

        def cls(value: float, s) -> str | None:
            value = round(value, 6)  # means are classed after rounding to 6 decimals
            for lo, hi, label in zip(s.breaks, (*s.breaks[1:], None), s.labels, strict=True):
                if value >= lo and (hi is None or value < hi):
                    return label
            return None

        cells, ages = defaultdict(list), defaultdict(list)
        for year, jobs in self.jobs.items():
            for p, r, wage, fte, dec31 in jobs:
                if r not in self.groups or (employees == "on_31_dec" and not dec31):
                    continue
                lev, fld = self.education[year].get(p, ("999", "999"))
                cells[(r, year, lev, fld)].append((wage, fte))
                ages[(r, year)].append(year - self.birth[p].year)
        cell_out = {
            k: (
                len(v),
                cls(sum(w for w, _ in v) / len(v), wage_s),
                cls(sum(f for _, f in v) / len(v), fte_s),
            )
            for k, v in cells.items()
        }
        emp_out = {k: (self.groups[k[0]], cls(sum(v) / len(v), age_s)) for k, v in ages.items()}
        return cell_out, emp_out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Tiny:
    return Tiny(tmp_path_factory.mktemp("employer") / "wh")


def make_context(
    tiny: Tiny,
    phase: str = "full",
    employees: str | None = None,
    key: bytes = b"k" * 32,
    engine=None,
) -> ExtractContext:
    d = load_deliberation(DELIBERATION)
    if employees is not None:
        pop = d.population.model_copy(update={"employees": employees})
        d = d.model_copy(update={"population": pop})
    return ExtractContext(
        deliberation=d,
        deliberation_path=DELIBERATION,
        warehouse=tiny.root,
        warehouse_meta=read_meta(tiny.root),
        phase=phase,
        engine=engine or connect("duckdb"),
        key=PseudonymKey("24-074", key),
        today=dt.date(2025, 1, 1),
        inputs={"enterprises": tiny.nbb},
    )


def collect(ctx: ExtractContext, tables) -> dict[str, pa.Table]:
    out = {}
    for t in tables:
        parts = [
            ctx.engine.to_arrow(x) if not isinstance(x, pa.Table) else x for x in t.years.values()
        ]
        out[t.name] = pa.concat_tables([p.select(list(t.column_names)) for p in parts])
    return out


def _labels(table: pa.Table, column: str, categories) -> list:
    """Category output: 1-based codes (classes) or the value itself, as labels."""
    values = table.column(column).to_pylist()
    if pa.types.is_integer(table.schema.field(column).type):
        return [None if v is None else categories[v - 1][0] for v in values]
    return values


def assert_independent_count(tiny: Tiny, ctx: ExtractContext, tables, out, employees: str):
    """The extract's cells and employer rows equal the count made in plain Python."""
    cells_meta, emp_meta = tables[0], tables[1]
    exp_cells, exp_emp = tiny.expected(employees)
    # The sequence numbers are the project's: map them back with the same key (the data
    # provider's view) to compare with the count made from RSZ numbers.
    seq = enterprise_map(load_nbb_list(tiny.nbb), ctx.key)
    rsz_of = dict(
        zip(
            seq.column("employer_id").to_pylist(), seq.column("rsz_number").to_pylist(), strict=True
        )
    )
    c = out["employer_education"]
    wage = _labels(c, "mean_annual_wage", cells_meta.column("mean_annual_wage").categories)
    fte = _labels(c, "mean_fte", cells_meta.column("mean_fte").categories)
    got = {
        (rsz_of[e], y, lev, fld): (n, w, f)
        for e, y, lev, fld, n, w, f in zip(
            c.column("employer_id").to_pylist(),
            c.column("year").to_pylist(),
            c.column("education_level").to_pylist(),
            c.column("education_field").to_pylist(),
            c.column("n_employees").to_pylist(),
            wage,
            fte,
            strict=True,
        )
    }
    assert got == exp_cells
    assert sum(v[0] for v in got.values()) > 100  # the test data are not trivially small
    e = out["employer_education_employers"]
    age = _labels(e, "mean_age", emp_meta.column("mean_age").categories)
    got_emp = {
        (rsz_of[i], y): (g, a)
        for i, y, g, a in zip(
            e.column("employer_id").to_pylist(),
            e.column("year").to_pylist(),
            e.column("group").to_pylist(),
            age,
            strict=True,
        )
    }
    assert got_emp == exp_emp


@pytest.mark.parametrize("employees", ["on_31_dec", "during_year"])
def test_cells_equal_an_independent_count(tiny, employees):
    ctx = make_context(tiny, employees=employees)
    tables = build(ctx)
    assert_independent_count(tiny, ctx, tables, collect(ctx, tables), employees)


def test_no_employer_identifier_in_the_output(tiny):
    ctx = make_context(tiny)
    tables = build(ctx)
    out = collect(ctx, tables)
    forbidden = set(tiny.rsz) | set(tiny.kbo) | set(tiny.insz)
    for name, table in out.items():
        assert not {"rsz_number", "kbo_number", "insz"} & set(table.column_names), name
        text = json.dumps(table.to_pylist(), default=str)
        assert not [f for f in forbidden if f in text], name
    ids_ = out["employer_education_employers"].column("employer_id").to_pylist()
    assert set(ids_) <= set(range(1, 7))  # dense numbers of the six listed enterprises


def test_unlisted_employer_contributes_nothing(tiny):
    ctx = make_context(tiny)
    out = collect(ctx, build(ctx))
    n_listed = sum(v[0] for v in tiny.expected("during_year")[0].values())
    assert sum(out["employer_education"].column("n_employees").to_pylist()) == n_listed
    all_jobs = sum(len(j) for j in tiny.jobs.values())
    assert n_listed < all_jobs  # employer 7 had jobs, which were not counted


def test_sequence_numbers_depend_on_the_project_key(tiny):
    nbb = load_nbb_list(tiny.nbb)
    a = enterprise_map(nbb, PseudonymKey("24-074", b"a" * 32))
    a2 = enterprise_map(nbb, PseudonymKey("24-074", b"a" * 32))
    b = enterprise_map(nbb, PseudonymKey("99-999", b"b" * 32))
    assert a.equals(a2)
    assert sorted(a.column("employer_id").to_pylist()) == list(range(1, 7))

    def by_rsz(t):
        return dict(
            zip(
                t.column("rsz_number").to_pylist(),
                t.column("employer_id").to_pylist(),
                strict=True,
            )
        )

    assert by_rsz(a) != by_rsz(b)


def test_sequence_numbers_of_two_projects_are_unrelated():
    n = 3_000
    kbo = ids.kbo_from_base(np.arange(n) * 6_007 + 11)
    rsz = ids.rsz_from_base(np.arange(n) * 3_001 + 5)
    listed = pa.table(
        {
            "line": np.arange(2, n + 2),
            "kbo_number": kbo,
            "rsz_number": rsz,
            "group": ["control"] * n,
        }
    )
    nbb = NbbList(Path("nbb.csv"), listed, listed.slice(0, 0))

    def numbers(key: bytes) -> np.ndarray:
        m = enterprise_map(nbb, PseudonymKey("24-074", key))
        order = np.argsort(np.asarray(m.column("rsz_number").to_pylist()))
        return m.column("employer_id").to_numpy()[order]  # by RSZ number

    a, b = numbers(b"a" * 32), numbers(b"b" * 32)
    assert sorted(a) == list(range(1, n + 1))  # dense
    rank_position = np.arange(n)
    # Neither follows the RSZ order, nor the other project's numbering (|rho| ~ 1/sqrt(n)).
    assert abs(np.corrcoef(a, rank_position)[0, 1]) < 0.08
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.08
    assert (a == b).mean() < 0.01


def test_codebook_describes_employer_aggregates_not_persons(tiny):
    """24/074 extracts hold employer × education cells and employer rows, never persons: the
    codebook says what one row of each table is, and that no row describes a person."""
    from kluis.extract.delivery.describe import codebook

    ctx = make_context(tiny)
    tables = build(ctx)
    out = collect(ctx, tables)
    assert [t.unit for t in tables] == ["employer-year-cell", "employer-year"]
    rows = {name: {2021: t.num_rows} for name, t in out.items()}
    info = {
        "deliberation": "24/074",
        "title": "T",
        "recipient": "R",
        "phase": "full",
        "phase_description": "all",
        "retention": "2027-12-31",
        "warehouse_id": "wh",
        "key_fingerprint": "k",
    }
    text = codebook(info, tables, rows, ("parquet",))
    assert "Persons are" not in text and "One row is one person" not in text
    assert "Employers are identified only by a meaningless sequence number (`employer_id`)" in text
    assert "No row of this extract describes a person" in text
    cells, employers = text.split("## Table `employer_education`")[1].split(
        "## Table `employer_education_employers`"
    )
    assert "**One row is one employer, one year and one non-empty cell" in cells
    assert "**One row is one employer in one year: aggregates over all its employees" in employers
    # the cell-only note stays with the cells; the employer table has one row per employer-year
    assert "counts as 999" in cells and "counts as 999" not in employers.split("## Value")[0]
    assert "non-empty cell" not in employers.split("## Value")[0]
