"""kluis.risk: the re-identification risk of development data, measured and lowered before the
data leave (`kluis risk`, docs/risk.md). A stage above `extract`, below `disclosure`.

Modules, one job each:
- `source`: open the table (extract table, CSV, Parquet), the positional records relation;
- `frequencies`: fk and Fk with sdcMicro's missing-value rule, in DuckDB;
- `individual`: individual risk (sdcMicro's indivRisk), household risk, exact sums;
- `ldiversity`, `longitudinal`: l-diversity; the panel risk over the years;
- `measure`: every measure of a table (the body of risk.json);
- `recode`: global recoding to coarser classes of the coarsening catalogue;
- `suppress`: local suppression to k-anonymous classes (the greedy by cost level), with
  `bound` (its lower bound), `leftover` (records no level could place) and `optimal` (the MIP);
- `report`, `run`, `cli`: risk.json / risk.html, the command end to end.
"""
