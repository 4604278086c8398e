"""Alternatives to secondary suppression for counts: conventional rounding and the cell-key method.

Both publish every safe cell with a known uncertainty; unsafe cells are still suppressed, because a
rounded or noisy one-person cell is still that person. The attacker's audit treats each published
value as an interval (rounding base, or the noise bound), and secondary suppression is added only
if subtraction still gets too close.

Cell-key method (ABS style): each person has a fixed pseudo-random record key in [0, 1); a cell's
key is the fractional part of the sum of its persons' keys, and its noise is read from a fixed
table of probabilities with that key. The same persons always give the same noise, so publishing a
cell twice (in two tables) never lets noise be averaged away.
"""

from __future__ import annotations

import numpy as np


def round_to_base(values: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round half up to a multiple of `base`; returns (published, low, high) the truth lies in."""
    r = np.floor(values / base + 0.5) * base
    half = base / 2.0
    return r, np.maximum(r - half, 0.0), r + half


def noise_table(max_noise: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric triangular noise on -D..D (mean 0): values and cumulative probabilities."""
    d = np.arange(-max_noise, max_noise + 1)
    p = (max_noise + 1 - np.abs(d)).astype(float)
    p /= p.sum()
    return d, np.cumsum(p)


def cell_key_noise(
    values: np.ndarray, cell_keys: np.ndarray, max_noise: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perturb counts by noise chosen with each cell's key; zeros stay zero, nothing negative."""
    d, cdf = noise_table(max_noise)
    pick = np.searchsorted(cdf, np.clip(cell_keys, 0.0, 1.0 - 1e-12), side="right")
    noise = d[np.minimum(pick, d.size - 1)]
    out = np.where(values > 0, np.maximum(values + noise, 1.0), 0.0)
    low = np.where(values > 0, np.maximum(out - max_noise, 0.0), 0.0)
    high = np.where(values > 0, out + max_noise, 0.0)
    return out, low, high
