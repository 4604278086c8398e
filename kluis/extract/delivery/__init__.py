"""The files a researcher receives (publish, formats, statfiles, describe).

`FORMATS` lives here, without imports, so that `kluis extract --help` need not load Arrow."""

FORMATS = ("parquet", "sav", "dta")
