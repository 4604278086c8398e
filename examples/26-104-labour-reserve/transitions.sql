-- Socio-economic group in year T by province, and the share still working in T+1.
-- Each aggregate query becomes a table output checked like a crosstab.

-- output: sep_group_by_province
SELECT province,
       substr(sep_code, 1, 1) AS sep_group,
       count(*) AS persons
FROM table1_next
WHERE year = 2025
GROUP BY province, substr(sep_code, 1, 1);

-- output: working_next_year
SELECT substr(sep_code, 1, 1) AS sep_group,
       substr(sep_code_next, 1, 1) AS sep_group_next,
       count(DISTINCT person_id) AS persons
FROM table1_next
WHERE year = 2025 AND sep_code_next IS NOT NULL
GROUP BY ALL;
