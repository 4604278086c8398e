-- Employees by ISCED group and study group, 2015-2021, in SQL: the same table as the Python
-- crosstab, checked the same way (sum(n_employees) counts employees, employers contribute).

-- output: employees_isced_group_sql
SELECT substr(c.education_level, 1, 1) AS isced,
       e."group" AS "group",
       sum(c.n_employees) AS employees
FROM employer_education AS c
JOIN employer_education_employers AS e
  ON c.employer_id = e.employer_id AND c.year = e.year
WHERE c.year >= 2015
GROUP BY ALL;
