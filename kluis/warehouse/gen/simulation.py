"""One simulated population carried through the years: the order of the yearly steps.

Each year: the population changes (deaths, migration, children turning 13, households), then
everybody present gets a labour state, an employer and statuses; output years are written out.
Every random draw comes from a stream keyed by (seed, year, step), so results never depend on the
order of calls or on how many years were simulated before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kluis.warehouse.gen import demography as D
from kluis.warehouse.gen import household as H
from kluis.warehouse.gen import params as P
from kluis.warehouse.gen.education import current_education
from kluis.warehouse.gen.employers import (
    Employers,
    create,
    division_in_section,
    employer_count,
    record_staff,
    step_employers,
)
from kluis.warehouse.gen.insz import InszAllocator
from kluis.warehouse.gen.jobs import JobYear, assign_jobs, employment_rows
from kluis.warehouse.gen.labour import new_adjustment, step_labour
from kluis.warehouse.gen.state import (
    ABROAD,
    COMBO,
    EMP,
    HELP,
    NONRES,
    RES,
    SELF,
    Population,
    rng_for,
)
from kluis.warehouse.gen.statuses import status_columns, update_disability
from kluis.warehouse.gen.writer import TableJob
from kluis.warehouse.gen.year_tables import year_jobs

(
    S_INIT,
    S_EXIT,
    S_EMPLOYERS,
    S_HOUSEHOLDS,
    S_ENTRANTS,
    S_IMMIGRANTS,
    S_BORDER,
    S_NATURAL,
    S_MOVES,
    S_LABOUR,
    S_JOBS,
    S_STATUS,
    S_ROWS,
    S_WRITE,
    S_SELF,
) = range(15)


class Simulation:
    """The population and employers of one generated warehouse."""

    def __init__(self, persons: int, seed: int, start_year: int) -> None:
        self.persons = persons
        self.seed = seed
        self.pop = Population()
        self.er = Employers(key=seed)
        self.alloc = InszAllocator()
        self.be_share = 0.1
        self.adjust = new_adjustment()
        year = start_year - 1
        rng = rng_for(seed, year, S_INIT)
        D.initial_population(self.pop, self.alloc, persons, year, rng)
        H.initial_households(self.pop, year, rng)
        create(self.er, employer_count(persons, year), year, rng, newborn=False, persons=persons)
        self._labour_and_jobs(year, output=None)

    def _rng(self, year: int, step: int) -> np.random.Generator:
        return rng_for(self.seed, year, step)

    def step(self, year: int, out: Path | None) -> list[TableJob]:
        """Simulate `year`; when `out` is given, return its tables ready to be written there."""
        pop = self.pop
        present_before = (pop.status == RES) | (pop.status == NONRES)
        pop.cols["lab_prev"] = np.where(present_before, pop.lab, -1).astype(np.int8)
        D.exits(pop, year, self._rng(year, S_EXIT))
        step_employers(self.er, self.persons, year, self._rng(year, S_EMPLOYERS))
        age_range = np.arange(15, 65)
        scale = self.persons / P.cohort_size(2024 - age_range).sum()
        births = int(round(P.cohort_size(year) * scale * 0.92))
        H.step_households(pop, year, births, self._rng(year, S_HOUSEHOLDS))
        D.entrants(pop, self.alloc, self.persons, year, self._rng(year, S_ENTRANTS))
        D.immigrants(
            pop, self.alloc, self.persons, year, self._rng(year, S_IMMIGRANTS), self.be_share
        )
        D.cross_border(pop, self.alloc, self.persons, year, self._rng(year, S_BORDER))
        self.be_share = D.naturalise(pop, year, self._rng(year, S_NATURAL))
        D.internal_moves(pop, year, self._rng(year, S_MOVES))
        tables = self._labour_and_jobs(year, out)
        keep = (pop.status == RES) | (pop.status == NONRES) | (pop.status == ABROAD)
        pop.compact(keep)
        return tables

    def _labour_and_jobs(self, year: int, output: Path | None) -> list[TableJob]:
        pop, er = self.pop, self.er
        rows = np.flatnonzero((pop.status == RES) | (pop.status == NONRES))
        age = D.ages(pop, year)[rows]
        res = pop.status[rows] == RES
        step_labour(pop, rows[res], age[res], year, self._rng(year, S_LABOUR), self.adjust)
        pop.lab[rows[~res]] = EMP
        rng = self._rng(year, S_SELF)
        lab = pop.lab[rows]
        new_self = np.isin(lab, (SELF, HELP)) & ~np.isin(pop.lab_prev[rows], (SELF, HELP, COMBO))
        k = int(new_self.sum())
        sec = rng.choice(21, size=k, p=P.SELF_SECTION_W / P.SELF_SECTION_W.sum())
        pop.self_nace[rows[new_self]] = division_in_section(sec, rng.random(k))
        level, field = current_education(pop, rows, age)
        ended = assign_jobs(pop, er, rows, age, field, year, self._rng(year, S_JOBS), self.persons)
        update_disability(pop, rows, age, self._rng(year, S_STATUS))
        main = pop.employer[rows]
        second = pop.employer2[rows]
        staff = np.bincount(main[main >= 0], minlength=len(er)) + np.bincount(
            second[second >= 0], minlength=len(er)
        )
        with_rows = staff > 0
        for job in ended:
            with_rows[job.employer] = True
        if output is None:
            record_staff(er, year, staff, with_rows, output=False)
            return []
        jobs: JobYear = employment_rows(
            pop, er, rows, age, level, year, ended, self._rng(year, S_ROWS)
        )
        with_rows[jobs.employer] = True
        record_staff(er, year, staff, with_rows, output=True)
        public = (main >= 0) & er.public[np.maximum(main, 0)]
        st = status_columns(pop, rows, age, year, public, res, self._rng(year, S_STATUS))
        hh = H.household_columns(pop, rows, age)
        pop.ever_present[rows] = True
        return year_jobs(
            output, pop, er, rows, age, level, field, year, hh, st, jobs, self._rng(year, S_WRITE)
        )
