"""kluis.extract: from the warehouse to the files a researcher receives.

Shared infrastructure (used by every builder):
- `context`  — ExtractContext, OutputTable, ColumnMeta, Builder: the extension point;
- `run`      — run_extract(...): in-force check, key, engine, builder by population unit, publish;
- `recode`   — the coarsening catalogue implemented by kind as Ibis expressions; decile_cuts;
- `derive`   — derived.* sources as Ibis expressions;
- `plan`     — plan_variable: a deliberation variable resolved, checked and described;
- `warehouse`— WarehouseTables: warehouse files as Ibis tables on the engine;
- `publish`  — write_extract (atomic), verify; `formats` (Parquet, .sav, .dta); `describe`
               (datapackage.json, codebook.md).
Builders: `panels` (person-year panels, e.g. 26/104), `employer` (e.g. 24/074).
"""
