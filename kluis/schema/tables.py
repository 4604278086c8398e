"""Every warehouse table, declared once.

Years run 2003-2026. Tables with `by_year=True` are stored as `<table>/year=YYYY/part-0.parquet`;
the `year` column is part of the data as well, so a file read alone still says its year.
"""

from __future__ import annotations

from kluis.schema.model import Column, Table
from kluis.schema.status_flags import STATUS_FLAGS

FIRST_YEAR = 2003
LAST_YEAR = 2026

_INSZ = Column(
    "insz",
    "string",
    "National register (INSZ) or BIS number, 11 digits",
    nullable=False,
    identifier="insz",
    references="persons.insz",
)
_YEAR = Column(
    "year",
    "int16",
    "Reference year (situation on 31 December)",
    nullable=False,
    min=FIRST_YEAR,
    max=LAST_YEAR,
)

PERSONS = Table(
    name="persons",
    description="One row per person ever known to the warehouse: characteristics that do not "
    "change from year to year.",
    key=("insz",),
    columns=(
        Column(
            "insz",
            "string",
            "National register (INSZ) or BIS number, 11 digits",
            nullable=False,
            identifier="insz",
        ),
        Column("birth_date", "date", "Date of birth", nullable=False),
        Column("sex", "string", "Sex", codes="sex", nullable=False),
        Column(
            "nationality",
            "string",
            "Current nationality (ISO 3166 alpha-2)",
            codes="country",
            nullable=False,
        ),
        Column(
            "first_nationality",
            "string",
            "First registered nationality (ISO alpha-2)",
            codes="country",
            nullable=False,
        ),
        Column(
            "birth_country",
            "string",
            "Country of birth (ISO alpha-2)",
            codes="country",
            nullable=False,
        ),
        Column(
            "foreign_origin_known",
            "bool",
            "A foreign origin is known (own, parents' or "
            "grandparents' current or first nationality not Belgian)",
            nullable=False,
        ),
        Column(
            "foreign_origin_country",
            "string",
            "Country of foreign origin (ISO alpha-2); null when none is known",
            codes="country",
        ),
        Column(
            "migrant_descent",
            "bool",
            "Of migrant descent ('allochtoon'): own or a parent's first nationality not Belgian",
            nullable=False,
        ),
        Column(
            "descent_country",
            "string",
            "Country of migrant descent (ISO alpha-2); null when not of migrant descent",
            codes="country",
        ),
        Column(
            "nr_registration_year",
            "int16",
            "Year of first registration in the National Register",
            nullable=False,
            min=1900,
            max=LAST_YEAR,
        ),
        Column(
            "waiting_register",
            "bool",
            "Registered in the waiting register (asylum seekers) "
            "rather than the population register",
            nullable=False,
        ),
        Column("death_date", "date", "Date of death; null when alive"),
    ),
)

PERSON_YEAR = Table(
    name="person_year",
    description="One row per person and year: the situation on 31 December (the last day of Q4).",
    key=("insz", "year"),
    by_year=True,
    columns=(
        _INSZ,
        _YEAR,
        Column("resident", "bool", "Lives in Belgium on 31 December", nullable=False),
        Column(
            "province",
            "string",
            "Province of residence (NIS code); null when not resident",
            codes="province",
        ),
        Column("household_id", "int64", "Household identifier (warehouse-internal)"),
        Column("household_type", "string", "Position in the household (LIPRO)", codes="lipro"),
        Column("n_children", "int8", "Number of children in the household", min=0, max=20),
        Column(
            "education_level", "string", "Highest education level (ISCED 2011)", codes="isced_level"
        ),
        Column(
            "education_field",
            "string",
            "Field of the highest diploma (ISCED-F 2013 narrow field)",
            codes="isced_field",
        ),
        Column(
            "education_org_type",
            "string",
            "Type of organisation that issued the diploma",
            codes="education_org_type",
        ),
        Column(
            "newcomer",
            "bool",
            "Newcomer indicator (first registered in the last 3 years)",
            nullable=False,
        ),
        Column("residence_reason", "string", "Reason of residence", codes="residence_reason"),
        Column(
            "sep_code",
            "string",
            "Socio-economic position (KSZ nomenclature) on 31 December",
            codes="sep",
            nullable=False,
        ),
        *(Column(name, "bool", f"{en} ({nl})", nullable=False) for name, nl, en in STATUS_FLAGS),
        Column(
            "jobseeker_category",
            "string",
            "Job-seeker category; null when not a job-seeker",
            codes="jobseeker_category",
        ),
        Column(
            "employment_service",
            "string",
            "Competent regional employment service",
            codes="employment_service",
        ),
        Column(
            "months_registered",
            "int16",
            "Months registered as job-seeker (current spell)",
            min=0,
            max=600,
        ),
        Column(
            "months_unemployed", "int16", "Months of unemployment (current spell)", min=0, max=600
        ),
        Column(
            "sanctioned", "bool", "Sanctioned by the unemployment office this year", nullable=False
        ),
        Column(
            "work_performance_type",
            "string",
            "Type of work performance of the main job",
            codes="work_performance_type",
        ),
        Column(
            "nace", "string", "NACE-BEL 2008 division (2 digits) of the main employer", codes="nace"
        ),
        Column(
            "gross_daily_wage",
            "float64",
            "Average gross daily wage of the main job (EUR)",
            min=0,
            max=5000,
        ),
        Column(
            "fte_excl_assimilated",
            "float64",
            "Full-time equivalent over the year, excluding assimilated days",
            min=0,
            max=2.5,
        ),
        Column(
            "work_intensity_eu",
            "float64",
            "Household work intensity, Eurostat definition (0-1)",
            min=0,
            max=1,
        ),
        Column(
            "work_intensity_be",
            "float64",
            "Household work intensity, national definition (0-1)",
            min=0,
            max=1,
        ),
        Column("cross_border", "bool", "Works across the border", nullable=False),
        Column("posted_worker", "bool", "Active as a posted worker", nullable=False),
    ),
)

EMPLOYERS = Table(
    name="employers",
    description="One row per employer (RSZ registration). Employers are born and die; size "
    "follows from employments.",
    key=("rsz_number",),
    columns=(
        Column(
            "kbo_number",
            "string",
            "KBO enterprise number, 10 digits",
            nullable=False,
            identifier="kbo",
        ),
        Column(
            "rsz_number",
            "string",
            "RSZ employer registration number, 9 digits",
            nullable=False,
            identifier="rsz",
        ),
        Column("nace", "string", "NACE-BEL 2008 division (2 digits)", codes="nace", nullable=False),
        Column(
            "sector", "string", "Private or public sector", codes="employer_sector", nullable=False
        ),
        Column(
            "founded_year",
            "int16",
            "First year with staff",
            nullable=False,
            min=1900,
            max=LAST_YEAR,
        ),
        Column(
            "closed_year",
            "int16",
            "Last year with staff; null while active",
            min=1900,
            max=LAST_YEAR,
        ),
        Column(
            "size_class",
            "string",
            "Size class by typical headcount",
            codes="employer_size",
            nullable=False,
        ),
    ),
)

EMPLOYMENTS = Table(
    name="employments",
    description="One row per person, employer and year: a job held during the year.",
    key=("insz", "rsz_number", "year"),
    by_year=True,
    columns=(
        _INSZ,
        Column(
            "rsz_number",
            "string",
            "RSZ employer registration number",
            nullable=False,
            identifier="rsz",
            references="employers.rsz_number",
        ),
        _YEAR,
        Column(
            "gross_taxable_annual_wage",
            "float64",
            "Gross taxable wage earned with this employer in the year (EUR)",
            nullable=False,
            min=0,
            max=2_000_000,
        ),
        Column(
            "fte",
            "float64",
            "Full-time equivalent of the job over the year",
            nullable=False,
            min=0,
            max=1.5,
        ),
        Column("days", "int16", "Days paid in the year", nullable=False, min=0, max=366),
        Column("on_31_dec", "bool", "The job is held on 31 December", nullable=False),
    ),
)

SS_SPELLS = Table(
    name="ss_spells",
    description="Social security spells (incapacity, payment, sickness/invalidity) that overlap "
    "Q4 of the year; at most one spell per person, year and kind.",
    key=("insz", "year", "kind"),
    by_year=True,
    columns=(
        _INSZ,
        _YEAR,
        Column("kind", "string", "Kind of spell", codes="spell_kind", nullable=False),
        Column("start_date", "date", "Start of the spell", nullable=False),
        Column("end_date", "date", "End of the spell; null while ongoing"),
        Column(
            "incapacity_day_type", "string", "Type of incapacity days", codes="incapacity_day_type"
        ),
        Column("benefit_type", "string", "Type of benefit", codes="benefit_type"),
        Column("medical_code_type", "string", "Type of medical code", codes="medical_code_type"),
        Column("medical_code", "string", "Medical code (ICD-10 chapter)", codes="medical_code"),
        Column("benefit_code", "string", "Benefit code", codes="benefit_code"),
    ),
)

DISABILITY_ALLOWANCES = Table(
    name="disability_allowances",
    description="Disability allowance received on 31 December (one row per person and year).",
    key=("insz", "year"),
    by_year=True,
    columns=(
        _INSZ,
        _YEAR,
        Column(
            "allowance_type",
            "string",
            "Type of disability allowance",
            codes="disability_allowance_type",
            nullable=False,
        ),
    ),
)

WELFARE_SUPPORT = Table(
    name="welfare_support",
    description="Public social welfare (OCMW/CPAS) support in the year: one row per person, year "
    "and level of the support nomenclature.",
    key=("insz", "year", "level"),
    by_year=True,
    columns=(
        _INSZ,
        _YEAR,
        Column(
            "level",
            "int8",
            "Level of the support nomenclature (1 = broad, 2 = detailed)",
            nullable=False,
            min=1,
            max=2,
        ),
        Column(
            "support_type",
            "string",
            "Type of support at that level",
            codes="welfare_support_type",
            nullable=False,
        ),
    ),
)

TABLES: tuple[Table, ...] = (
    PERSONS,
    PERSON_YEAR,
    EMPLOYERS,
    EMPLOYMENTS,
    SS_SPELLS,
    DISABILITY_ALLOWANCES,
    WELFARE_SUPPORT,
)


def table(name: str) -> Table:
    """The declared table called `name`."""
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(f"no warehouse table {name!r}; known: {', '.join(t.name for t in TABLES)}")
