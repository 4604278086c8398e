"""Assemble and write the by-year tables (person_year, employments, ss_spells,
disability_allowances, welfare_support) of one simulated year, each sorted by its key."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kluis import codes
from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.demography import REASON_CODES
from kluis.warehouse.gen.education import ORG_CODES
from kluis.warehouse.gen.employers import Employers
from kluis.warehouse.gen.household import LIPRO
from kluis.warehouse.gen.jobs import JobYear
from kluis.warehouse.gen.spells import MEDICAL, disability_rows, spells, welfare
from kluis.warehouse.gen.state import (
    COMBO,
    EMP,
    HELP,
    NONRES,
    OTHER,
    PENS,
    RES,
    SELF,
    STUDENT,
    SWT,
    Population,
)
from kluis.warehouse.gen.statuses import FLAG_NAMES, JS_CATEGORIES, SEP_CODES, sep_index
from kluis.warehouse.gen.writer import Codes, Digits, TableJob, Values
from kluis.warehouse.layout import table_path

_BORDER_P = {
    "80000": 0.7,
    "60000": 0.25,
    "50000": 0.2,
    "70000": 0.2,
    "30000": 0.15,
    "10000": 0.1,
    "21000": 0.02,
}
BORDER_P = np.array([_BORDER_P.get(p, 0.05) for p in P.PROVINCES])
_SECTIONS_POSTED = [P.SECTION_LETTERS.index(s) for s in "CFH"]
SPELL_KINDS = ("INC", "PAY", "SIV")
SERVICES = ("VDAB", "FOREM", "ACTIRIS", "ADG")
WPT = codes.load("work_performance_type").codes  # "1".."6" -> index wpt - 1
DAY_TYPES = codes.load("incapacity_day_type").codes
BENEFITS = codes.load("benefit_type").codes
BENEFIT_CODES = codes.load("benefit_code").codes
DISAB_TYPES = codes.load("disability_allowance_type").codes
WELFARE_TYPES = codes.load("welfare_support_type").codes
_BENEFIT_CODE_INDEX = np.full(100, -1, dtype=np.int64)
for _i, _c in enumerate(BENEFIT_CODES):
    _BENEFIT_CODE_INDEX[int(_c)] = _i


def _work_intensity(key: np.ndarray, eligible: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Household work intensity (worked / potential) of each person's household; NaN if none."""
    uniq, inv = np.unique(key, return_inverse=True)
    pot = np.bincount(inv, weights=eligible, minlength=uniq.size)
    got = np.bincount(inv, weights=np.where(eligible, work, 0.0), minlength=uniq.size)
    wi = np.divide(got, pot, out=np.full(uniq.size, np.nan), where=pot > 0)
    return np.clip(wi[inv], 0.0, 1.0)


def year_jobs(
    out: Path,
    pop: Population,
    er: Employers,
    rows: np.ndarray,
    age: np.ndarray,
    level: np.ndarray,
    field: np.ndarray,
    year: int,
    hh: dict,
    st: dict,
    jobs: JobYear,
    rng: np.random.Generator,
) -> list[TableJob]:
    """The five by-year tables for present `rows`, assembled (copies only) for writing."""
    n = rows.size
    resident = pop.status[rows] == RES
    lab = pop.lab[rows]
    main = pop.employer[rows].astype(np.int64)
    has_main = main >= 0
    public = has_main & er.public[np.maximum(main, 0)]
    order = np.argsort(pop.insz[rows], kind="stable")
    insz = pop.insz[rows]
    nonres = ~resident
    self_like = np.isin(lab, (SELF, HELP))
    nace = np.where(
        has_main, er.nace[np.maximum(main, 0)], np.where(self_like, pop.self_nace[rows], -1)
    )
    posted_p = np.where(np.isin(er.section[np.maximum(main, 0)], _SECTIONS_POSTED), 0.02, 0.003)
    nat = pop.nat[rows]
    reason = np.where(nat == P.BE, 0, np.where(P.COUNTRY_EU[nat], 1, pop.reason[rows]))
    fte_total = jobs.fte_total
    sick = np.isin(lab, (EMP, COMBO)) & st["flags"]["st_work_sickness_fund"]
    fte_excl = fte_total * np.where(sick, 0.85, 1.0 - 0.04 * pop.trait[rows])
    # household work intensity: adults 18-64 (EU) or 18-59 (BE), students 18-24 not counted
    student = (lab == STUDENT) & (age <= 24)
    worked = np.nan_to_num(fte_excl) + np.where(np.isin(lab, (SELF, HELP, COMBO)), 1.0, 0.0)
    worked_be = np.nan_to_num(fte_total) + np.where(np.isin(lab, (SELF, HELP, COMBO)), 1.0, 0.0)
    key = np.where(resident, hh["household_id"], -1 - np.arange(n))
    elig_eu = resident & (age >= 18) & (age <= 64) & ~student
    elig_be = elig_eu & (age <= 59) & ~np.isin(lab, (PENS, SWT))
    wi_eu = _work_intensity(key, elig_eu, np.minimum(worked, 1.0))
    wi_be = _work_intensity(key, elig_be, np.minimum(worked_be, 1.0))
    educated = pop.edu_org[rows]
    cols = {
        "insz": Digits(insz, 11),
        "year": Values(np.full(n, year, np.int16)),
        "resident": resident,
        "province": Codes(np.where(resident, pop.prov[rows], -1), P.PROVINCES),
        "household_id": Values(hh["household_id"], nonres),
        "household_type": Codes(np.where(resident, hh["lipro"], -1), LIPRO),
        "n_children": Values(hh["n_children"], nonres),
        "education_level": Codes(level, P.EDU_LEVELS),
        "education_field": Codes(field, P.FIELDS),
        "education_org_type": Codes(educated, ORG_CODES),
        "newcomer": resident & (pop.birth_country[rows] != P.BE) & (year - pop.reg_year[rows] < 3),
        "residence_reason": Codes(np.where(resident, reason, -1), REASON_CODES),
        "sep_code": Codes(sep_index(lab, public), SEP_CODES),
        **{name: st["flags"][name] for name in FLAG_NAMES},
        "jobseeker_category": Codes(st["jobseeker_category"], JS_CATEGORIES),
        "employment_service": Codes(st["employment_service"], SERVICES),
        "months_registered": Values(
            st["months_registered"].astype(np.int16), st["months_registered"] < 0
        ),
        "months_unemployed": Values(
            st["months_unemployed"].astype(np.int16), st["months_unemployed"] < 0
        ),
        "sanctioned": st["sanctioned"],
        "work_performance_type": Codes(np.where(has_main, pop.wpt[rows] - 1, -1), WPT),
        "nace": Codes(nace, P.NACE),
        "gross_daily_wage": Values(jobs.daily_wage, decimals=2),
        "fte_excl_assimilated": Values(np.minimum(fte_excl, 2.5), decimals=4),
        "work_intensity_eu": Values(np.where(resident, wi_eu, np.nan), decimals=4),
        "work_intensity_be": Values(np.where(resident, wi_be, np.nan), decimals=4),
        "cross_border": (pop.status[rows] == NONRES)
        | (
            resident
            & (lab == OTHER)
            & (age >= 20)
            & (pop.trait[rows] < BORDER_P[np.maximum(pop.prov[rows], 0)])
        ),
        "posted_worker": has_main & resident & (rng.random(n) < posted_p),
    }
    out_jobs = [TableJob(table_path(out, "person_year", year), "person_year", cols, n, order)]
    # employments, sorted by (insz, rsz)
    j_insz = insz[jobs.person]
    j_rsz = er.rsz[jobs.employer]
    j_order = np.lexsort((j_rsz, j_insz))
    out_jobs.append(
        TableJob(
            table_path(out, "employments", year),
            "employments",
            {
                "insz": Digits(j_insz, 11),
                "rsz_number": Digits(j_rsz, 9),
                "year": Values(np.full(j_insz.size, year, np.int16)),
                "gross_taxable_annual_wage": Values(jobs.wage, decimals=2),
                "fte": Values(jobs.fte, decimals=4),
                "days": Values(jobs.days),
                "on_31_dec": jobs.on_31_dec,
            },
            j_insz.size,
            j_order,
        )
    )
    # social security spells
    single = hh["lipro"] == 0
    sp = spells(pop, rows, age, year, st["flags"], hh["n_children"], single, rng)
    s_insz = insz[sp["pos"]]
    s_kind = sp["kind"]
    s_order = np.lexsort((s_kind, s_insz))
    out_jobs.append(
        TableJob(
            table_path(out, "ss_spells", year),
            "ss_spells",
            {
                "insz": Digits(s_insz, 11),
                "year": Values(np.full(s_insz.size, year, np.int16)),
                "kind": Codes(s_kind, SPELL_KINDS),
                "start_date": Values(sp["start"]),
                "end_date": Values(sp["end"], sp["end"] == np.iinfo(np.int32).min),
                "incapacity_day_type": Codes(sp["day_type"] - 1, DAY_TYPES),
                "benefit_type": Codes(sp["benefit"] - 1, BENEFITS),
                "medical_code_type": Codes(sp["med_type"] - 1, ("1", "2")),
                "medical_code": Codes(sp["med"], MEDICAL),
                "benefit_code": Codes(_BENEFIT_CODE_INDEX[sp["bcode"]], BENEFIT_CODES),
            },
            s_insz.size,
            s_order,
        )
    )
    da = disability_rows(pop, rows, resident)
    d_insz = insz[da["pos"]]
    out_jobs.append(
        TableJob(
            table_path(out, "disability_allowances", year),
            "disability_allowances",
            {
                "insz": Digits(d_insz, 11),
                "year": Values(np.full(d_insz.size, year, np.int16)),
                "allowance_type": Codes(da["type"] - 1, DISAB_TYPES),
            },
            d_insz.size,
            np.argsort(d_insz, kind="stable"),
        )
    )
    wf = welfare(pop, rows, st["sii"], hh["lipro"], hh["n_children"], resident, rng)
    w_insz = insz[wf["pos"]]
    out_jobs.append(
        TableJob(
            table_path(out, "welfare_support", year),
            "welfare_support",
            {
                "insz": Digits(w_insz, 11),
                "year": Values(np.full(w_insz.size, year, np.int16)),
                "level": Values(wf["level"]),
                "support_type": Codes(wf["type"], WELFARE_TYPES),
            },
            w_insz.size,
            np.lexsort((wf["level"], w_insz)),
        )
    )
    return out_jobs
