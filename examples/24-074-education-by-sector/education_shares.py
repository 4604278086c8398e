"""Employees by education level in automating (intervention) and other (control) enterprises.

The extract gives, per employer and year, the number of employees per education level and
field. The enclave counts employees with the employer as the contributor: a cell leaves only
when it holds enough employers and no employer dominates it. Shares of each level follow from
the checked counts (each column divided by its total).
"""

import kluis.safe as safe

cells = safe.data("employer_education")
employers = safe.data("employer_education_employers")

# the study group of each employer and year (one row per employer and year: a 1:1 join)
staff = cells.join(employers, ["employer_id", "year"])
# ISCED level in broad groups: the first digit (0-2 low, 3-4 medium, 5-8 high; 9 unknown)
staff = staff.mutate(isced=staff.education_level.substr(0, 1))

recent = staff.filter(staff.year >= 2015)
safe.crosstab(recent, index="isced", columns="group", name="employees_isced_group_2015_2021")

# the same, year by year for the last year only, at the full level of detail
last = staff.filter(staff.year == 2021)
safe.crosstab(last, index="education_level", columns="group", name="employees_level_group_2021")

# the enterprises themselves: how many in each group by the average age of their staff
firms = employers.filter(employers.year == 2021)
safe.crosstab(firms, index="mean_age", columns="group", name="employers_age_group_2021")
