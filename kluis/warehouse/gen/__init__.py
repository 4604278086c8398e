"""The synthetic warehouse generator's parts: population state, demography, households,
education, labour transitions, employers and jobs, statuses and spells, table writing.

The entry point is kluis.warehouse.generate.generate_warehouse."""
