"""The simulated population as columns of NumPy arrays, carried from year to year.

One row per person currently simulated; the arrays are appended to (births, immigrants) and
compacted (the dead and the permanently gone are moved out), never looped over in Python.
Links between persons (partner, parent) are row indices, remapped on compaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NO_DATE = np.iinfo(np.int32).min

# status
RES, ABROAD, NONRES, DEAD, GONE = 0, 1, 2, 3, 4

# labour states (kluis-internal; mapped to KSZ SEP codes when writing)
(
    EMP,
    SELF,
    HELP,
    COMBO,
    JS_UB,
    JS_IA,
    JS_NONE,
    CB,
    EXEMPT,
    SII,
    PENS,
    SWT,
    STUDENT,
    INCAP,
    DISAB,
    INACT,
    OTHER,
) = range(17)
N_LAB = 17
WORKING = (EMP, SELF, HELP, COMBO)
JOBSEEKER = (JS_UB, JS_IA, JS_NONE)
HAS_EMPLOYER = (EMP, COMBO)

# name -> (dtype, default)
PERSON_FIELDS: dict[str, tuple[str, object]] = {
    "pid": ("int64", -1),
    "insz": ("int64", -1),
    "bis": ("bool", False),
    "birth": ("int32", 0),
    "sex": ("int8", 0),  # 0 male, 1 female
    "nat": ("int16", 0),
    "nat_first": ("int16", 0),
    "birth_country": ("int16", 0),
    "origin": ("int16", -1),
    "descent": ("int16", -1),
    "reg_year": ("int16", 0),
    "waiting": ("bool", False),
    "death": ("int32", NO_DATE),
    "ever_present": ("bool", False),
    "status": ("int8", RES),
    "status_since": ("int16", 0),
    "prov": ("int8", -1),
    "german": ("bool", False),
    "edu_final": ("int8", 0),
    "field_final": ("int8", 0),
    "edu_org": ("int8", -1),
    "edu_delay": ("int8", 0),
    "reason": ("int8", 0),
    "partner": ("int32", -1),
    "parent": ("int32", -1),
    "married": ("bool", False),
    "young_kids": ("int8", 0),
    "collective": ("bool", False),
    "lab": ("int8", OTHER),
    "lab_prev": ("int8", -1),
    "lab_since": ("int16", 0),
    "js_start": ("int32", 0),
    "incap_start": ("int32", NO_DATE),
    "da": ("int8", 0),
    "sii": ("bool", False),
    "employer": ("int32", -1),
    "employer2": ("int32", -1),
    "job_fte": ("float32", 1.0),
    "job2_fte": ("float32", 0.5),
    "wpt": ("int8", 0),
    "job_start": ("int32", 0),
    "wage_eff": ("float32", 0.0),
    "trait": ("float32", 0.5),  # persistent uniform draw for stable personal traits
    "self_nace": ("int8", 0),
    "present_prev": ("bool", False),
}
LINK_FIELDS = ("partner", "parent")


@dataclass
class Population:
    """Columns of the simulated persons plus the columns of persons that left the simulation."""

    cols: dict[str, np.ndarray] = field(default_factory=dict)
    finished: list[dict[str, np.ndarray]] = field(default_factory=list)
    next_pid: int = 0

    def __post_init__(self) -> None:
        if not self.cols:
            self.cols = {k: np.empty(0, dtype=d) for k, (d, _) in PERSON_FIELDS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self.cols["pid"])

    def set(self, name: str, values: np.ndarray) -> None:
        self.cols[name] = np.asarray(values, dtype=PERSON_FIELDS[name][0])

    def append(self, n: int, **values: np.ndarray) -> np.ndarray:
        """Add `n` persons (unspecified columns get their default); returns their row indices."""
        start = len(self)
        for name, (dtype, default) in PERSON_FIELDS.items():
            new = values.get(name)
            new = np.full(n, default, dtype=dtype) if new is None else np.asarray(new, dtype)
            if new.shape != (n,):
                raise ValueError(f"append: column {name} has shape {new.shape}, expected ({n},)")
            self.cols[name] = np.concatenate([self.cols[name], new])
        self.cols["pid"][start:] = np.arange(self.next_pid, self.next_pid + n)
        self.next_pid += n
        return np.arange(start, start + n)

    def compact(self, keep: np.ndarray) -> None:
        """Drop rows not in `keep` (moving those ever known to `finished`) and remap links."""
        keep = np.asarray(keep, dtype=bool)
        gone = ~keep & self.cols["ever_present"]
        if gone.any():
            self.finished.append({k: v[gone] for k, v in self.cols.items()})
        remap = np.cumsum(keep, dtype=np.int64) - 1
        remap[~keep] = -1
        for name, values in list(self.cols.items()):
            self.cols[name] = values[keep]
        for name in LINK_FIELDS:
            link = self.cols[name]
            ok = link >= 0
            link[ok] = remap[link[ok]]
            self.cols[name] = link.astype(np.int32)

    def all_known(self) -> dict[str, np.ndarray]:
        """Every person ever known (left the simulation or still in it), in pid order."""
        parts = [*self.finished, {k: v[self.cols["ever_present"]] for k, v in self.cols.items()}]
        out = {k: np.concatenate([p[k] for p in parts]) for k in PERSON_FIELDS}
        order = np.argsort(out["pid"], kind="stable")
        return {k: v[order] for k, v in out.items()}


class Draws:
    """Uniform draws `u[k]` (float32, one per person) made on first use and kept: flags that
    must exclude each other cut the same draw into ranges."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n, self.cache = rng, n, {}

    def __getitem__(self, k: int) -> np.ndarray:
        if k not in self.cache:
            self.cache[k] = self.rng.random(self.n, dtype=np.float32)
        return self.cache[k]


def rng_for(seed: int, year: int, stream: int) -> np.random.Generator:
    """An independent random stream per (seed, year, component): order of calls never matters."""
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, year, stream])


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers (days since 1970-01-01)."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def day_of(year: np.ndarray | int, day_in_year: np.ndarray | int = 0) -> np.ndarray:
    """Day number of 1 January of `year` plus `day_in_year`."""
    y = np.asarray(year, dtype=np.int64) - 1970
    return (
        y.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        + np.asarray(day_in_year, dtype=np.int64)
    ).astype(np.int32)
