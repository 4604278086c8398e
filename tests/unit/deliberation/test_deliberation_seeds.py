"""The shipped deliberation files encode everything in the two seed texts.

The checklists below were written from the Dutch seed texts (/work/shared/seeds), item by item:
(the seed's words, the variable, its source, its coarsening[, where]). Each item is asserted
present with the right coarsening, so dropping or loosening anything in a file fails a test.
"""

from __future__ import annotations

import datetime as dt

import pytest
from deliberation_cases import SHIPPED

from kluis.deliberation import load, problems
from kluis.deliberation.model import (
    EmployerCellTable,
    EmployerPopulation,
    PersonPopulation,
    PersonYearTable,
    SamplePhase,
    ScramblePhase,
)
from kluis.schema import STATUS_FLAGS


@pytest.fixture(scope="module")
def d26():
    return load(SHIPPED / "26-104.yaml")


@pytest.fixture(scope="module")
def d24():
    return load(SHIPPED / "24-074.yaml")


@pytest.mark.parametrize("name", ["26-104.yaml", "24-074.yaml"])
def test_shipped_files_pass_check(name):
    assert problems(SHIPPED / name) == []


# ---- 26/104 (seed 000) ---------------------------------------------------------------------------

# Persoonskenmerken
PERSON_26 = [
    ("het uniek volgnummer", "person_id", "pseudonym.person", "none"),
    ("de leeftijd (in klassen)", "age", "derived.age", "age_5y"),
    ("het geslacht", "sex", "persons.sex", "none"),
    ("de nationaliteit (in klassen)", "nationality", "persons.nationality", "country_group"),
    ("het geboorteland (in klassen)", "birth_country", "persons.birth_country", "country_group"),
    (
        "het wel of niet gekend zijn van een vreemde herkomst",
        "foreign_origin_known",
        "persons.foreign_origin_known",
        "none",
    ),
    (
        "het land van vreemde herkomst (in klassen)",
        "foreign_origin_country",
        "persons.foreign_origin_country",
        "country_group",
    ),
    (
        "het wel of niet van allochtone afkomst zijn",
        "migrant_descent",
        "persons.migrant_descent",
        "none",
    ),
    (
        "het land van allochtone afkomst (in klassen)",
        "descent_country",
        "persons.descent_country",
        "country_group",
    ),
    ("de aanduiding van het nieuwkomerschap", "newcomer", "person_year.newcomer", "none"),
    ("de reden van het verblijf", "residence_reason", "person_year.residence_reason", "none"),
    ("de provincie van de woonplaats", "province", "person_year.province", "none"),
    ("het gezinstype", "household_type", "person_year.household_type", "none"),
    (
        "het aantal kinderen in het huishouden (in klassen)",
        "n_children",
        "person_year.n_children",
        "children_classes",
    ),
    (
        "het jaar van de inschrijving in het Rijksregister",
        "nr_registration_year",
        "persons.nr_registration_year",
        "registration_year",
    ),
    ("het onderwijsniveau", "education_level", "person_year.education_level", "none"),
    (
        "het onderwerp van het behaalde bewijs",
        "education_field",
        "person_year.education_field",
        "none",
    ),
    (
        "het type organisatie die het bewijs uitreikt",
        "education_org_type",
        "person_year.education_org_type",
        "none",
    ),
    ("het wel of niet overleden zijn", "deceased", "derived.deceased", "none"),
]

# Socio-economische positie (without the footnote)
SEP_26 = [
    (
        "de nomenclatuurcode van de socio-economische positie",
        "sep_code",
        "person_year.sep_code",
        "none",
    ),
    (
        "de categorie van werkzoekende",
        "jobseeker_category",
        "person_year.jobseeker_category",
        "none",
    ),
    (
        "de bevoegde arbeidsbemiddelingsdienst",
        "employment_service",
        "person_year.employment_service",
        "none",
    ),
    (
        "het aantal maanden inschrijving (in klassen)",
        "months_registered",
        "person_year.months_registered",
        "months_classes",
    ),
    (
        "het aantal maanden werkloosheid (in klassen)",
        "months_unemployed",
        "person_year.months_unemployed",
        "months_classes",
    ),
    ("het wel of niet gesanctioneerd zijn", "sanctioned", "person_year.sanctioned", "none"),
]

# Footnote 1: every (combination of) status(es), expanded from the seed's wording
FOOTNOTE_26 = [
    ("Activering door de Rijksdienst voor Arbeidsvoorziening", "st_activation_rva"),
    ("werkend + inkomensgarantieuitkering", "st_work_income_guarantee"),
    ("werkend + uitkeringsgerechtigd volledig werkloos", "st_work_unemployed_benefit"),
    ("werkend + met leefloon of financiële hulp", "st_work_social_integration"),
    (
        "werkend + volledige loopbaanonderbreking of volledig tijdskrediet",
        "st_work_career_break_full",
    ),
    (
        "werkend + gedeeltelijke loopbaanonderbreking of gedeeltelijk tijdskrediet",
        "st_work_career_break_partial",
    ),
    (
        "werkend + volledig in het stelsel van werkloosheid met bedrijfstoelage of in brugpensioen",
        "st_work_swt_full",
    ),
    (
        "werkend + halftijds in het stelsel van werkloosheid met bedrijfstoelage of in "
        "brugpensioen",
        "st_work_swt_half",
    ),
    ("werkend + volledig in terbeschikkingstelling vóór het pensioen", "st_work_availability_full"),
    (
        "werkend + gedeeltelijk in terbeschikkingstelling vóór het pensioen",
        "st_work_availability_partial",
    ),
    ("werkend + pensioentrekkend", "st_work_pension"),
    ("werkend + tegemoetkoming voor personen met een handicap", "st_work_disability_allowance"),
    ("werkend + invaliditeit", "st_work_invalidity"),
    ("werkend + gekend bij het ziekenfonds", "st_work_sickness_fund"),
    ("werkend + uitkering omwille van een beroepsziekte", "st_work_occupational_disease"),
    ("werkend + uitkering omwille van een arbeidsongeval", "st_work_work_accident"),
    ("tewerkgesteld in een plaatselijk werkgelegenheidsagentschap (PWA)", "st_pwa"),
    ("leefloon + tegemoetkoming voor personen met een handicap", "st_si_disability_allowance"),
    ("leefloon + invaliditeit", "st_si_invalidity"),
    ("leefloon + gekend bij het ziekenfonds", "st_si_sickness_fund"),
    ("leefloon + uitkering omwille van een beroepsziekte", "st_si_occupational_disease"),
    ("leefloon + uitkering omwille van een arbeidsongeval", "st_si_work_accident"),
    ("leefloon + rechtgevend kind", "st_si_entitled_child"),
    (
        "vrijgesteld als werkzoekende + tegemoetkoming voor personen met een handicap",
        "st_exempt_disability_allowance",
    ),
    (
        "vrijgesteld als werkzoekende + uitkering omwille van een beroepsziekte",
        "st_exempt_occupational_disease",
    ),
    (
        "vrijgesteld als werkzoekende + uitkering omwille van een arbeidsongeval",
        "st_exempt_work_accident",
    ),
    (
        "vrijgesteld als werkzoekende + met leefloon of financiële hulp",
        "st_exempt_social_integration",
    ),
    ("oudere werkzoekende", "st_older_jobseeker"),
    ("vrijstelling van inschrijving omwille van een opleiding", "st_exempt_training"),
    ("vrijstelling van inschrijving om familiale of sociale redenen", "st_exempt_family_social"),
    ("andere vrijstellingen", "st_exempt_other"),
    (
        "werkzoekend en gekend bij een gewestelijke dienst voor arbeidsbemiddeling",
        "st_jobseeker_regional",
    ),
    ("gekend bij de Rijksdienst voor Arbeidsvoorziening", "st_known_rva"),
]

# Arbeidsprestaties
WORK_26 = [
    ("het prestatietype", "work_performance_type", "person_year.work_performance_type", "none"),
    ("de NACE-code (activiteitensector)", "nace", "person_year.nace", "none"),
    (
        "het gemiddeld bruto dagloon (in klassen ...)",
        "daily_wage_class",
        "person_year.gross_daily_wage",
        "daily_wage_classes",
    ),
    (
        "het gemiddeld bruto dagloon (... en in decielen)",
        "daily_wage_decile",
        "person_year.gross_daily_wage",
        "daily_wage_deciles",
    ),
    (
        "het voltijds equivalent exclusief gelijkgestelde dagen",
        "fte",
        "person_year.fte_excl_assimilated",
        "fte_classes",
    ),
    (
        "de werkintensiteit van het gezin (definitie 1, in klassen)",
        "work_intensity_eu",
        "person_year.work_intensity_eu",
        "work_intensity_classes",
    ),
    (
        "de werkintensiteit van het gezin (definitie 2, in klassen)",
        "work_intensity_be",
        "person_year.work_intensity_be",
        "work_intensity_classes",
    ),
    (
        "de aanduiding van tewerkstelling over de grens",
        "cross_border",
        "person_year.cross_border",
        "none",
    ),
    (
        "het wel of niet als gedetacheerde actief zijn",
        "posted_worker",
        "person_year.posted_worker",
        "none",
    ),
]

# Sociale zekerheid ("de datums worden weergegeven met het jaar en de maand")
SS_26 = [
    (
        "het type dagen arbeidsongeschiktheid",
        "incapacity_day_type",
        "ss_spells.incapacity_day_type",
        "none",
        {"kind": "INC"},
    ),
    ("het type uitkering", "benefit_type", "ss_spells.benefit_type", "none", {"kind": "PAY"}),
    (
        "het type medische code",
        "medical_code_type",
        "ss_spells.medical_code_type",
        "none",
        {"kind": "INC"},
    ),
    (
        "periodes van arbeidsongeschiktheid: begindatum",
        "incapacity_start",
        "ss_spells.start_date",
        "year_month",
        {"kind": "INC"},
    ),
    (
        "periodes van arbeidsongeschiktheid: einddatum",
        "incapacity_end",
        "ss_spells.end_date",
        "year_month",
        {"kind": "INC"},
    ),
    (
        "periodes van betaling: begindatum",
        "payment_start",
        "ss_spells.start_date",
        "year_month",
        {"kind": "PAY"},
    ),
    (
        "periodes van betaling: einddatum",
        "payment_end",
        "ss_spells.end_date",
        "year_month",
        {"kind": "PAY"},
    ),
    (
        "periodes van ziekte/invaliditeit: begindatum",
        "sickness_invalidity_start",
        "ss_spells.start_date",
        "year_month",
        {"kind": "SIV"},
    ),
    (
        "periodes van ziekte/invaliditeit: einddatum",
        "sickness_invalidity_end",
        "ss_spells.end_date",
        "year_month",
        {"kind": "SIV"},
    ),
    ("de medische code", "medical_code", "ss_spells.medical_code", "none", {"kind": "INC"}),
    ("de uitkeringscode", "benefit_code", "ss_spells.benefit_code", "none", {"kind": "PAY"}),
    (
        "het type tegemoetkomingen voor personen met een handicap",
        "disability_allowance_type",
        "disability_allowances.allowance_type",
        "none",
        {},
    ),
    (
        "het type OCMW-steun (niveau 1)",
        "welfare_support_level1",
        "welfare_support.support_type",
        "none",
        {"level": 1},
    ),
    (
        "het type OCMW-steun (niveau 2)",
        "welfare_support_level2",
        "welfare_support.support_type",
        "none",
        {"level": 2},
    ),
]

# Point 4: added at T+1 and T-1
EDUCATION = ["education_level", "education_field", "education_org_type"]
SEP_ALL = [
    "sep_code",
    *(c for _, c in FOOTNOTE_26),
    "jobseeker_category",
    "employment_service",
    "months_registered",
    "months_unemployed",
    "sanctioned",
]
WORK_ALL = [v for _, v, _, _ in WORK_26]
SS_ALL = [v for _, v, *_ in SS_26]
OFFSET_26 = [*EDUCATION, *SEP_ALL, *WORK_ALL, *SS_ALL, "household_type", "province"]


def _items_26():
    for seed, name, source, scheme in PERSON_26 + SEP_26 + WORK_26:
        yield pytest.param(name, source, scheme, {}, id=f"{name}: {seed}")
    for seed, name in FOOTNOTE_26:
        yield pytest.param(name, f"person_year.{name}", "none", {}, id=f"{name}: {seed}")
    for seed, name, source, scheme, where in SS_26:
        yield pytest.param(name, source, scheme, where, id=f"{name}: {seed}")


@pytest.mark.parametrize(("name", "source", "scheme", "where"), list(_items_26()))
def test_26_104_variable(d26, name, source, scheme, where):
    v = d26.variable(name)
    assert v.source == source
    assert v.coarsening == scheme
    assert dict(v.where) == where
    assert v.seed_text, "every variable quotes the seed"
    t1, t2 = d26.tables
    if name != "deceased":  # "behalve de aanduiding van het overlijden"
        assert name in t1.variables and name in t2.variables
    else:
        assert name not in t1.variables and name not in t2.variables


def test_26_104_footnote_is_complete(d26):
    assert len(FOOTNOTE_26) == 33
    assert {c for _, c in FOOTNOTE_26} == {c for c, _, _ in STATUS_FLAGS}
    flags = [v.name for v in d26.variables if v.name.startswith("st_")]
    assert sorted(flags) == sorted(c for _, c in FOOTNOTE_26)


def test_26_104_authorises_nothing_beyond_the_seed(d26):
    listed = {n for _, n, *_ in PERSON_26 + SEP_26 + WORK_26 + SS_26} | {c for _, c in FOOTNOTE_26}
    assert {v.name for v in d26.variables} == listed


def test_26_104_identity_and_dates(d26):
    assert d26.number == "26/104"
    assert d26.date == dt.date(2026, 6, 2)
    assert d26.effective == dt.date(2026, 6, 17)  # "treedt in werking op 17 juni 2026"
    assert d26.ends == ("24/130",)  # point 20
    assert d26.retention == dt.date(2032, 12, 31)  # point 17
    assert "Steunpunt Werk" in d26.recipient
    assert "arbeidsreserve" in d26.purpose


def test_26_104_population(d26):
    p = d26.population
    assert isinstance(p, PersonPopulation)
    assert p.years.years == (2020, 2021, 2022, 2023, 2024, 2025, 2026)
    assert p.age == (15, 64)
    assert p.resident and p.exclude_waiting_register


def test_26_104_two_tables_per_year_with_t_plus_and_minus_one(d26):
    assert len(d26.tables) == 2
    t1, t2 = d26.tables
    assert isinstance(t1, PersonYearTable) and isinstance(t2, PersonYearTable)
    assert t1.variables == t2.variables
    assert set(t1.next_year) == set(OFFSET_26) | {"deceased"} and not t1.previous_year
    assert set(t2.previous_year) == set(OFFSET_26) and not t2.next_year
    assert set(d26.offsets.next) == set(t1.next_year)
    assert set(d26.offsets.previous) == set(t2.previous_year)


def test_26_104_phases(d26):
    spec = d26.phases.development.spec
    assert isinstance(spec, SamplePhase) and spec.persons_per_year == 10_000
    assert d26.phases.full.location == "secure_environment"


# ---- 24/074 (seed 003) ---------------------------------------------------------------------------

VARIABLES_24 = [
    ("uniek, betekenisloos volgnummer", "employer_id", "pseudonym.employer", "none"),
    ("interventiegroep / controlegroep", "group", "input.group", "none"),
    (
        "opleidingsniveau (een vijftiental opties)",
        "education_level",
        "person_year.education_level",
        "none",
    ),
    (
        "opleidingsdomein (een dertigtal opties)",
        "education_field",
        "person_year.education_field",
        "none",
    ),
    ("bruto belastbaar jaarloon", "annual_wage", "employments.gross_taxable_annual_wage", "none"),
    ("voltijdsequivalent", "fte", "employments.fte", "none"),
    ("leeftijd van de werknemers", "age", "derived.age", "none"),
]


@pytest.mark.parametrize(
    ("seed", "name", "source", "scheme"), VARIABLES_24, ids=[v[1] for v in VARIABLES_24]
)
def test_24_074_variable(d24, seed, name, source, scheme):
    v = d24.variable(name)
    assert (v.source, v.coarsening) == (source, scheme)
    assert v.seed_text


def test_24_074_authorises_nothing_beyond_the_seed(d24):
    assert {v.name for v in d24.variables} == {v[1] for v in VARIABLES_24}


def test_24_074_table(d24):
    (t,) = d24.tables
    assert isinstance(t, EmployerCellTable)
    assert t.employer == "employer_id"
    # "per mogelijke combinatie van opleidingsniveau en opleidingsdomein"
    assert t.by == ("education_level", "education_field")
    cell = {m.name: m for m in t.cell_measures}
    # "hoeveel werknemers"
    assert cell["n_employees"].aggregate == "count"
    # "(in aangepaste klassen) het gemiddeld bruto belastbaar jaarloon en het gemiddeld
    # voltijdsequivalent"
    assert (
        cell["mean_annual_wage"].aggregate,
        cell["mean_annual_wage"].variable,
        cell["mean_annual_wage"].coarsening,
    ) == ("mean", "annual_wage", "annual_wage_classes")
    assert (cell["mean_fte"].aggregate, cell["mean_fte"].variable, cell["mean_fte"].coarsening) == (
        "mean",
        "fte",
        "fte_mean_classes",
    )
    # "per werkgever ook de gemiddelde leeftijd van de werknemers (in aangepaste klassen)
    # ... niet per combinatie"
    (age,) = t.employer_measures
    assert (age.aggregate, age.variable, age.coarsening) == ("mean", "age", "mean_age_classes")
    assert "age" not in {m.variable for m in t.cell_measures}
    assert t.employer_variables == ("group",)


def test_24_074_population_and_dates(d24):
    p = d24.population
    assert isinstance(p, EmployerPopulation)
    assert (p.years.first, p.years.last) == (2003, 2021)  # "in de periode 2003-2021"
    assert "Nationale Bank" in p.enterprises.provider
    assert set(p.enterprises.groups) == {"intervention", "control"}
    assert d24.number == "24/074"
    assert d24.date == dt.date(2024, 5, 7)
    assert d24.effective == dt.date(2024, 5, 24)
    assert d24.retention == dt.date(2027, 12, 31)
    assert d24.ends == ()


def test_24_074_scrambled_development_phase(d24):
    spec = d24.phases.development.spec
    assert isinstance(spec, ScramblePhase)
    assert spec.records == 3_000  # "een fragment van de gegevens (3.000 records)"
    # "sommige eigenschappen van de ene persoon worden toegekend aan de andere persoon"
    assert {"education_level", "education_field"} <= set(spec.swap_variables)
    assert "employer_id" not in spec.swap_variables
    assert d24.phases.full.location == "secure_environment"
