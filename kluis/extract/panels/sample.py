"""The development sample: permanent random numbers (PRN), one threshold for all years.

Each person gets a fixed uniform number from a keyed hash (kluis.pseudonym.mapping); the sample
is every person whose number is below one threshold, the same for every year. So a person is in
the sample in every year they belong to the population — the panel stays a panel — and the
expected sample size per year is the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kluis.pseudonym import PseudonymKey, permanent_random_numbers


@dataclass(frozen=True)
class Sample:
    ids: pa.Array  # the selected identifiers (never leave the engine side)
    threshold: float
    target_per_year: int
    mean_population: float

    def describe(self) -> str:
        return (
            f"development sample: persons whose permanent random number (keyed hash, fixed for "
            f"this deliberation) is below {self.threshold:.6f}, the same threshold in every year "
            f"— about {self.target_per_year:,} persons a year out of {self.mean_population:,.0f}; "
            "a person stays in the sample in every year they belong to the population"
        )


def prn_threshold(target_per_year: int, population_per_year: Mapping[int, int]) -> float:
    """The PRN threshold whose expected yearly sample is `target_per_year`."""
    sizes = [n for n in population_per_year.values() if n > 0]
    if not sizes:
        return 0.0
    return min(1.0, target_per_year / float(np.mean(sizes)))


def draw(
    ids: pa.Array,
    key: PseudonymKey,
    target_per_year: int,
    population_per_year: Mapping[int, int],
) -> Sample:
    """Select from the distinct population `ids` (all years) by PRN < threshold."""
    threshold = prn_threshold(target_per_year, population_per_year)
    prn = permanent_random_numbers(ids, key)
    chosen = ids.filter(pa.array(prn < threshold))
    sizes = [n for n in population_per_year.values() if n > 0]
    return Sample(chosen, threshold, target_per_year, float(np.mean(sizes)) if sizes else 0.0)
