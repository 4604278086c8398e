"""kluis.extract: from the warehouse to the files a researcher receives.

Shared infrastructure (used by every builder):
- `context`  — ExtractContext, OutputTable, ColumnMeta, Builder: the extension point;
- `run`      — run_extract(...): in-force check, key, engine, builder by population unit, publish;
- `recode`   — the coarsening catalogue implemented by kind as Ibis expressions; decile_cuts;
- `derive`   — derived.* sources as Ibis expressions;
- `plan`     — plan_variable: a deliberation variable resolved, checked and described;
- `warehouse`— WarehouseTables: warehouse files as Ibis tables on the engine;
- `progress` — the run's steps, counted for the progress bar;

What each part serves:
- `delivery/` — the files a researcher receives: `publish` (write_extract, atomic; verify),
  `formats` (Parquet), `statfiles` and `statrecords` (.sav, .dta), `describe`
  (datapackage.json, codebook.md);
- `panels/`   — person-year panels (e.g. 26/104): `build` (spans of years), `frames`, `parts`,
  the development `sample`;
- `employers/` — employer aggregates (e.g. 24/074): `build`, employee `records`, the NBB list
  (`nbb`, `nbb_report`), the scrambled development `fragment` (`scramble`, `scramble_metrics`).
"""
