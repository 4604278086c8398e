"""The tables written once at the end: persons (everybody ever in person_year) and employers
(every employer with an employment in an output year)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.employers import Employers
from kluis.warehouse.gen.state import NO_DATE, Population
from kluis.warehouse.gen.writer import Codes, Digits, Values, write_table
from kluis.warehouse.layout import table_path


def write_persons(out: Path, pop: Population) -> int:
    known = pop.all_known()
    nat, first = known["nat"], known["nat_first"]
    origin, descent = known["origin"].copy(), known["descent"].copy()
    # own first nationality not Belgian => of migrant descent; any foreign nationality => origin
    descent = np.where((descent < 0) & (first != P.BE), first, descent)
    origin = np.where(origin < 0, descent, origin)
    origin = np.where((origin < 0) & (nat != P.BE), nat, origin)
    n = nat.size
    death = known["death"]
    cols = {
        "insz": Digits(known["insz"], 11),
        "birth_date": Values(known["birth"]),
        "sex": Codes(known["sex"].astype(np.int64), ("1", "2")),
        "nationality": Codes(nat, P.COUNTRIES),
        "first_nationality": Codes(first, P.COUNTRIES),
        "birth_country": Codes(known["birth_country"], P.COUNTRIES),
        "foreign_origin_known": origin >= 0,
        "foreign_origin_country": Codes(origin, P.COUNTRIES),
        "migrant_descent": descent >= 0,
        "descent_country": Codes(descent, P.COUNTRIES),
        "nr_registration_year": Values(known["reg_year"].astype(np.int16)),
        "waiting_register": known["waiting"],
        "death_date": Values(death, death == NO_DATE),
    }
    return write_table(
        table_path(out, "persons"), "persons", cols, n, np.argsort(known["insz"], kind="stable")
    )


def write_employers(out: Path, er: Employers) -> int:
    keep = np.flatnonzero(er.out_rows)
    founded = np.minimum(er.founded[keep], er.first_year[keep]).astype(np.int16)
    closed = er.closed[keep]
    mean_staff = er.staff_sum[keep] / np.maximum(er.staff_years[keep], 1)
    size = np.where(
        mean_staff > 0, np.searchsorted(P.SIZE_CLASS_EDGES, mean_staff, side="right"), 0
    )
    cols = {
        "kbo_number": Digits(er.kbo[keep], 10),
        "rsz_number": Digits(er.rsz[keep], 9),
        "nace": Codes(er.nace[keep].astype(np.int64), P.NACE),
        "sector": Codes(er.public[keep].astype(np.int64), ("1", "2")),
        "founded_year": Values(founded),
        "closed_year": Values(closed, closed < 0),
        "size_class": Codes(size, tuple(str(i) for i in range(10))),
    }
    return write_table(
        table_path(out, "employers"),
        "employers",
        cols,
        keep.size,
        np.argsort(er.rsz[keep], kind="stable"),
    )
