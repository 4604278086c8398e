"""The labour reserve in year T: who is not working, by province, sex and socio-economic
position; where they are a year later (T -> T+1); and what explains the daily wage decile.

Runs unchanged on the development extract (phase 1) and on the full population (phase 2):
kluis.safe reads the extract lazily and every output is checked by the enclave.
"""

import kluis.safe as safe

YEAR = 2025  # the last year with a T+1 in table1_next

t = safe.data("table1_next")
people = t.filter(t.year == YEAR).mutate(
    # socio-economic group: the first digit of the KSZ nomenclature code
    # (1 working, 2 job-seeker, 3 not economically active, 4 other)
    sep_group=t.sep_code.substr(0, 1),
    sep_group_next=t.sep_code_next.substr(0, 1),
)

# 1. The labour reserve: job-seekers and the not economically active, by province and sex
reserve = people.filter(people.sep_group.isin(["2", "3"]))
safe.crosstab(
    reserve, index=["province", "sex"], columns="sep_group", name="reserve_province_sex_sep"
)

# 2. Mobility: socio-economic group in T against T+1, over everybody of year T ("0": no longer
#    in the population in T+1: died, emigrated or turned 65). Keeping the whole population
#    matters: a table of "everybody but those who left" beside the reserve table would let a
#    reader subtract the few who left (the enclave refuses such a pair).
moves = people.mutate(sep_group_next=people.sep_group_next.fill_null("0"))
safe.crosstab(moves, index="sep_group", columns="sep_group_next", name="transitions_t_t1")

# 3. Workers' daily wage decile (1-10) by province and sex: mean decile per cell
workers = people.filter(people.daily_wage_decile.notnull()).mutate(
    wage_decile=people.daily_wage_decile.substr(1).cast("int64"),
)
safe.pivot_table(
    workers, values="wage_decile", index="province", columns="sex", aggfunc="mean",
    name="wage_decile_province_sex",
)

# 4. A wage regression: decile on sex, age class and education level
workers = workers.mutate(education=workers.education_level.substr(0, 1))
safe.ols("wage_decile ~ C(sex) + C(age) + C(education)", workers, name="wage_regression")

print("tables:", safe.tables(), "- minimum cell:", safe.rules()["min_cell"])
