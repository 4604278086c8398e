"""The (combinations of) statuses of footnote 1 of deliberation 26/104, one boolean column each.

Kept as data so the schema, the generator and the deliberation checklist share one list.
"""

from __future__ import annotations

# (column name, Dutch wording of the seed, English description)
STATUS_FLAGS: tuple[tuple[str, str, str], ...] = (
    (
        "st_activation_rva",
        "activering door de RVA",
        "activation by the national employment office (RVA)",
    ),
    (
        "st_work_income_guarantee",
        "werkend + inkomensgarantieuitkering",
        "working combined with income guarantee allowance",
    ),
    (
        "st_work_unemployed_benefit",
        "werkend + uitkeringsgerechtigd volledig werkloos",
        "working combined with full unemployment benefit",
    ),
    (
        "st_work_social_integration",
        "werkend + leefloon of financiële hulp",
        "working combined with social integration income or financial aid",
    ),
    (
        "st_work_career_break_full",
        "werkend + volledige loopbaanonderbreking/tijdskrediet",
        "working combined with full career break or time credit",
    ),
    (
        "st_work_career_break_partial",
        "werkend + gedeeltelijke loopbaanonderbreking/tijdskrediet",
        "working combined with partial career break or time credit",
    ),
    (
        "st_work_swt_full",
        "werkend + volledig SWT/brugpensioen",
        "working combined with full unemployment with company top-up (bridge pension)",
    ),
    (
        "st_work_swt_half",
        "werkend + halftijds SWT/brugpensioen",
        "working combined with half-time unemployment with company top-up",
    ),
    (
        "st_work_availability_full",
        "werkend + volledig terbeschikkingstelling vóór pensioen",
        "working combined with full availability before retirement",
    ),
    (
        "st_work_availability_partial",
        "werkend + gedeeltelijk terbeschikkingstelling vóór pensioen",
        "working combined with partial availability before retirement",
    ),
    ("st_work_pension", "werkend + pensioentrekkend", "working combined with a pension"),
    (
        "st_work_disability_allowance",
        "werkend + tegemoetkoming personen met een handicap",
        "working combined with a disability allowance",
    ),
    ("st_work_invalidity", "werkend + invaliditeit", "working combined with invalidity"),
    (
        "st_work_sickness_fund",
        "werkend + gekend bij het ziekenfonds",
        "working combined with being known at the sickness fund",
    ),
    (
        "st_work_occupational_disease",
        "werkend + uitkering beroepsziekte",
        "working combined with an occupational disease benefit",
    ),
    (
        "st_work_work_accident",
        "werkend + uitkering arbeidsongeval",
        "working combined with a work accident benefit",
    ),
    ("st_pwa", "tewerkgesteld in een PWA", "employed through a local employment agency (PWA)"),
    (
        "st_si_disability_allowance",
        "leefloon + tegemoetkoming personen met een handicap",
        "social integration income combined with a disability allowance",
    ),
    (
        "st_si_invalidity",
        "leefloon + invaliditeit",
        "social integration income combined with invalidity",
    ),
    (
        "st_si_sickness_fund",
        "leefloon + gekend bij het ziekenfonds",
        "social integration income combined with being known at the sickness fund",
    ),
    (
        "st_si_occupational_disease",
        "leefloon + uitkering beroepsziekte",
        "social integration income combined with an occupational disease benefit",
    ),
    (
        "st_si_work_accident",
        "leefloon + uitkering arbeidsongeval",
        "social integration income combined with a work accident benefit",
    ),
    (
        "st_si_entitled_child",
        "leefloon + rechtgevend kind",
        "social integration income combined with being an entitled child (family allowance)",
    ),
    (
        "st_exempt_disability_allowance",
        "vrijgesteld werkzoekende + tegemoetkoming personen met een handicap",
        "exempted job-seeker combined with a disability allowance",
    ),
    (
        "st_exempt_occupational_disease",
        "vrijgesteld werkzoekende + uitkering beroepsziekte",
        "exempted job-seeker combined with an occupational disease benefit",
    ),
    (
        "st_exempt_work_accident",
        "vrijgesteld werkzoekende + uitkering arbeidsongeval",
        "exempted job-seeker combined with a work accident benefit",
    ),
    (
        "st_exempt_social_integration",
        "vrijgesteld werkzoekende + leefloon of financiële hulp",
        "exempted job-seeker combined with social integration income or financial aid",
    ),
    ("st_older_jobseeker", "oudere werkzoekende", "older job-seeker"),
    (
        "st_exempt_training",
        "vrijstelling van inschrijving omwille van een opleiding",
        "exempted from registration for training",
    ),
    (
        "st_exempt_family_social",
        "vrijstelling om familiale of sociale redenen",
        "exempted from registration for family or social reasons",
    ),
    ("st_exempt_other", "andere vrijstellingen", "other exemptions from registration"),
    (
        "st_jobseeker_regional",
        "werkzoekend en gekend bij een gewestelijke dienst",
        "job-seeker known at a regional employment service",
    ),
    ("st_known_rva", "gekend bij de RVA", "known at the national employment office (RVA)"),
)
