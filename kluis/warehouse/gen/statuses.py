"""The socio-economic position code and everything hanging off it: the footnote-1 status flags,
job-seeker details (category, service, months, sanctions), social integration income and the
disability allowance. Flags only appear with a position they can combine with (st_work_* only
for the working, st_si_* with social integration income, st_exempt_* for exempted job-seekers).
"""

from __future__ import annotations

import numpy as np

from kluis.schema import STATUS_FLAGS
from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.state import (
    CB,
    DISAB,
    EMP,
    EXEMPT,
    INCAP,
    JOBSEEKER,
    JS_IA,
    JS_NONE,
    JS_UB,
    SII,
    STUDENT,
    SWT,
    WORKING,
    Draws,
    Population,
)

SEP_CODES = (
    "1.1.1",
    "1.1.2",
    "1.2",
    "1.3",
    "1.4",
    "2.1",
    "2.2",
    "2.3",
    "3.1",
    "3.2",
    "3.3",
    "3.4",
    "3.5",
    "3.6",
    "3.7",
    "3.8",
    "3.9",
    "4",
)
# labour state -> index in SEP_CODES (employees get 1.1.2 when their employer is public)
_LAB_TO_SEP = np.array([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])
JS_CATEGORIES = ("01", "02", "03", "04", "05")
FLAG_NAMES = tuple(name for name, _, _ in STATUS_FLAGS)


def sep_index(lab: np.ndarray, public_employer: np.ndarray) -> np.ndarray:
    sep = _LAB_TO_SEP[lab]
    return np.where((lab == EMP) & public_employer, 1, sep)


def update_disability(
    pop: Population, rows: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> None:
    """Disability allowance (type 1 income replacement, 2 integration, 3 both, 4 elderly):
    everybody in SEP 3.8 has one; it lasts, and some combine it with work or other benefits."""
    lab = pop.lab[rows]
    da = pop.da[rows]
    n = rows.size
    # the allowance mostly stops when the person leaves the disability position
    p_lose = np.where(pop.lab_prev[rows] == DISAB, 0.5, np.where(np.isin(lab, WORKING), 0.2, 0.3))
    lose = (da > 0) & (lab != DISAB) & (rng.random(n) < p_lose)
    da[lose] = 0
    need = (lab == DISAB) & (da == 0)
    da[need] = rng.choice([1, 2, 3], size=int(need.sum()), p=[0.4, 0.25, 0.35])
    p_new = np.select(
        [lab == INCAP, np.isin(lab, JOBSEEKER), lab == SII, np.isin(lab, WORKING)],
        [0.02, 0.002, 0.01, 0.0002],
        0.0004,
    )
    new = (da == 0) & (age >= 18) & (rng.random(n) < p_new)
    da[new] = np.where(np.isin(lab[new], WORKING), 2, rng.choice([1, 2, 3], size=int(new.sum())))
    da[(da > 0) & (age >= 65) & (lab == DISAB)] = 4
    pop.da[rows] = da


def status_columns(
    pop: Population,
    rows: np.ndarray,
    age: np.ndarray,
    year: int,
    public_employer: np.ndarray,
    resident: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Position code, flags and job-seeker details for present `rows`."""
    n = rows.size
    lab = pop.lab[rows]
    prev = pop.lab_prev[rows]
    da = pop.da[rows]
    region = P.PROV_REGION[np.maximum(pop.prov[rows], 0)]
    working = np.isin(lab, WORKING) & resident
    employee = (lab == EMP) & resident
    js = np.isin(lab, JOBSEEKER)
    ex = lab == EXEMPT
    female = pop.sex[rows] == 1
    u = Draws(rng, n)
    f: dict[str, np.ndarray] = {}
    months_reg = np.where(js, np.clip(year * 12 + 12 - pop.js_start[rows], 1, 600), -1)
    f["st_activation_rva"] = (employee & np.isin(prev, JOBSEEKER) & (u[0] < 0.35)) | (
        js & (u[0] < 0.02)
    )
    f["st_work_income_guarantee"] = employee & (pop.job_fte[rows] < 1) & (u[1] < 0.03)
    f["st_work_unemployed_benefit"] = working & (u[2] < 0.004)
    f["st_work_social_integration"] = working & (u[3] < 0.0035)
    f["st_work_career_break_full"] = working & (u[4] < 0.0005)
    p_partial = np.where(age >= 55, 0.12, np.where(female & (age >= 28) & (age <= 50), 0.06, 0.015))
    f["st_work_career_break_partial"] = employee & (u[5] < p_partial)
    f["st_work_swt_full"] = working & (age >= 55) & (u[6] < 0.002)
    f["st_work_swt_half"] = working & (age >= 55) & (u[6] >= 0.998) & (u[6] < 0.999)
    avail_p = 0.03 if year < 2012 else 0.008
    f["st_work_availability_full"] = employee & public_employer & (age >= 55) & (u[7] < avail_p)
    f["st_work_availability_partial"] = (
        employee & public_employer & (age >= 55) & (u[7] >= avail_p) & (u[7] < 2 * avail_p)
    )
    f["st_work_pension"] = working & (
        u[8] < np.where(age >= 65, 0.5, np.where(age >= 60, 0.08, 0.0))
    )
    f["st_work_disability_allowance"] = working & (da > 0)
    f["st_work_invalidity"] = working & (u[9] < 0.012)
    f["st_work_sickness_fund"] = working & (u[10] < 0.03)
    f["st_work_occupational_disease"] = working & (u[11] < 0.003)
    f["st_work_work_accident"] = working & (u[11] >= 0.995)
    f["st_pwa"] = (lab == JS_UB) & (months_reg > 24) & (u[12] < 0.03)
    sii = (
        (lab == SII)
        | ((lab == JS_NONE) & (pop.trait[rows] < 0.5))
        | (f["st_work_social_integration"])
    )
    on_sii = lab == SII
    f["st_si_disability_allowance"] = on_sii & (da > 0)
    f["st_si_invalidity"] = on_sii & (u[13] < 0.05)
    f["st_si_sickness_fund"] = on_sii & (u[13] >= 0.05) & (u[13] < 0.13)
    f["st_si_occupational_disease"] = on_sii & (u[14] < 0.003)
    f["st_si_work_accident"] = on_sii & (u[14] >= 0.995)
    f["st_si_entitled_child"] = on_sii & (age < 25) & (u[15] < 0.3)
    f["st_exempt_disability_allowance"] = ex & (da > 0)
    f["st_exempt_occupational_disease"] = ex & (u[16] < 0.005)
    f["st_exempt_work_accident"] = ex & (u[16] >= 0.99)
    f["st_exempt_social_integration"] = ex & (u[17] < 0.08)
    sii |= f["st_exempt_social_integration"]
    f["st_older_jobseeker"] = (js | ex) & (age >= 50)
    older_ex = ex & (age >= 50) & (year < 2015)
    reason = np.where(older_ex, 2, np.searchsorted([0.45, 0.75], u[18]))
    f["st_exempt_training"] = ex & (reason == 0)
    f["st_exempt_family_social"] = ex & (reason == 1)
    f["st_exempt_other"] = ex & (reason == 2)
    registered_worker = working & (u[19] < 0.03)
    f["st_jobseeker_regional"] = (
        js | (ex & ~older_ex) | registered_worker | (on_sii & (u[19] < 0.4))
    )
    f["st_known_rva"] = (
        np.isin(lab, (JS_UB, JS_IA, CB, SWT))
        | ex
        | f["st_work_career_break_partial"]
        | f["st_work_unemployed_benefit"]
        | f["st_work_income_guarantee"]
        | f["st_work_swt_full"]
        | f["st_work_swt_half"]
        | f["st_work_career_break_full"]
    )
    assert set(f) == set(FLAG_NAMES), set(FLAG_NAMES) ^ set(f)
    # job-seeker details
    category = np.select(
        [lab == JS_UB, lab == JS_IA, (lab == JS_NONE) & sii, lab == JS_NONE, registered_worker],
        [0, 1, 2, 3, 4],
        -1,
    )
    service = np.where(pop.german[rows], 3, np.array([0, 1, 2])[region])
    service = np.where(f["st_jobseeker_regional"] | ex, service, -1)
    months_reg = np.where(registered_worker, 1 + (u[19] * 400).astype(np.int64) % 12, months_reg)
    months_reg = np.where(
        ex & f["st_jobseeker_regional"], 1 + (pop.trait[rows] * 60).astype(int), months_reg
    )
    months_unemp = np.where(
        np.isin(lab, (JS_UB, JS_IA)), months_reg + (pop.trait[rows] * 4).astype(np.int64), -1
    )
    months_unemp = np.where(older_ex, 12 * np.clip(age - 48, 1, 20), months_unemp)
    sanction_p = np.array([0.05, 0.03, 0.025])[region]
    sanctioned = np.isin(lab, (JS_UB, JS_IA)) & (rng.random(n) < sanction_p)
    return {
        "flags": f,
        "sii": sii & resident,
        "jobseeker_category": category,
        "employment_service": service,
        "months_registered": np.minimum(months_reg, 600),
        "months_unemployed": np.minimum(months_unemp, 600),
        "sanctioned": sanctioned,
    }


STUDENT_STATE = STUDENT
