-- The same year in SQL (DuckDB dialect). Each aggregate query becomes a table output, checked
-- like a crosstab; name it with a comment line "-- output: NAME".

-- output: sep_group_by_province
SELECT province,
       substr(sep_code, 1, 1) AS sep_group,
       count(*) AS persons
FROM table1_next
WHERE year = 2025
GROUP BY province, substr(sep_code, 1, 1);

-- output: transitions_sql
SELECT substr(sep_code, 1, 1) AS sep_group,
       coalesce(substr(sep_code_next, 1, 1), '0') AS sep_group_next,
       count(DISTINCT person_id) AS persons
FROM table1_next
WHERE year = 2025
GROUP BY ALL;

-- output: wage_decile_by_sex
SELECT sex,
       avg(CAST(substr(daily_wage_decile, 2) AS INTEGER)) AS mean_decile
FROM table1_next
WHERE year = 2025 AND daily_wage_decile IS NOT NULL
GROUP BY sex;
