"""A synthetic National Bank (NBB) enterprise list for deliberation 24/074, from a warehouse.

WHY: the real list comes from the National Bank (annual accounts and VAT data we do not have).
To develop and demonstrate the employer extract end to end we need a list with the same shape and
the same selection pattern, built from the warehouse's own employers:

- population: private-sector employers with staff in 2003-2021 that filed annual accounts
  (all but a share of the smallest ones, which are often sole traders without accounts);
- automating firms: a few percent, much more often in manufacturing (NACE section C) and in
  larger firms;
- suppliers: each automating firm has a handful of suppliers, drawn with preference for
  manufacturing, wholesale, transport, ICT and business services; automating firms and their
  suppliers form the intervention group, everything else the control group.

Deterministic for a given warehouse and seed (sorted output).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer

from kluis.atomic import write_text
from kluis.codes import load as load_codes
from kluis.errors import BadInput
from kluis.warehouse.layout import WarehouseLayoutError, table_path

PERIOD = (2003, 2021)
PRIVATE = "1"
# Relative odds of automating by NACE section (manufacturing first).
AUTOMATION_ODDS = {"C": 6.0, "B": 2.0, "D": 2.0, "E": 1.5, "F": 1.2, "H": 1.5, "J": 1.5, "G": 1.0}
# Relative odds of being chosen as a supplier by NACE section.
SUPPLIER_ODDS = {"C": 4.0, "G": 3.0, "H": 2.5, "J": 2.0, "M": 2.0, "N": 2.0, "F": 1.5, "E": 1.0}
# Relative odds by size class code 1 (1-4 staff) .. 9 (1000+): automation rises with size.
SIZE_ODDS = np.array([0.1, 0.2, 0.4, 0.7, 1.0, 1.6, 2.4, 3.5, 4.5, 5.5])


@dataclass(frozen=True)
class NbbSelection:
    """The list plus the roles behind it (roles are not written to the list itself)."""

    table: pa.Table  # kbo_number, rsz_number, group — sorted
    role: pa.Array  # automating / supplier / other, aligned with `table`
    population: int
    warehouse_employers: int


def _employers(warehouse: Path) -> pa.Table:
    path = table_path(warehouse, "employers")
    try:
        return pq.read_table(
            path, columns=["kbo_number", "rsz_number", "sector", "size_class", "nace"]
        )
    except (OSError, pa.ArrowException) as exc:
        raise WarehouseLayoutError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None


def _with_staff_in_period(warehouse: Path, employers: pa.Table) -> np.ndarray:
    """Employers with at least one employment row in 2003-2021 (the NBB's 'had staff')."""
    seen = []
    for year in range(PERIOD[0], PERIOD[1] + 1):
        path = table_path(warehouse, "employments", year)
        if Path(path).exists():
            col = pq.read_table(path, columns=["rsz_number"]).column("rsz_number")
            seen.append(pc.unique(col))
    if not seen:
        return np.zeros(employers.num_rows, dtype=bool)
    staffed = pc.unique(pa.chunked_array(seen).combine_chunks())
    return pc.is_in(employers.column("rsz_number"), value_set=staffed).to_numpy(
        zero_copy_only=False
    )


def _lookup(
    values: pa.ChunkedArray | pa.Array, table: dict[str, float], default: float
) -> np.ndarray:
    """Vectorised dict lookup of string values (codes missing from `table` get `default`)."""
    keys = pa.array(list(table), type=pa.string())
    idx = pc.index_in(values, value_set=keys).to_numpy(zero_copy_only=False)
    lut = np.append(np.array(list(table.values()), dtype=np.float64), default)
    return lut[np.where(np.isnan(idx.astype(np.float64)), len(table), idx).astype(np.int64)]


def select(
    warehouse: Path | str,
    seed: int = 24074,
    automating_share: float = 0.04,
    suppliers_per_firm: float = 3.0,
) -> NbbSelection:
    """Choose the NBB population and groups from the warehouse's employers."""
    if not 0.0 <= automating_share <= 1.0:
        raise BadInput(f"automating share must lie between 0 and 1 (got {automating_share})")
    warehouse = Path(warehouse)
    rng = np.random.default_rng(seed)
    employers = _employers(warehouse)
    n_all = employers.num_rows
    employers = employers.sort_by([("rsz_number", "ascending")])
    private = pc.equal(employers.column("sector"), PRIVATE).to_numpy(zero_copy_only=False)
    staffed = _with_staff_in_period(warehouse, employers)
    size_code = (
        pc.cast(employers.column("size_class"), pa.int64(), safe=False).fill_null(0).to_numpy()
    )
    # Annual accounts: most small firms file them, a share of the smallest do not.
    files_accounts = rng.random(n_all) < np.where(size_code <= 1, 0.8, 0.97)
    in_pop = private & staffed & files_accounts
    pop = employers.filter(pa.array(in_pop))
    n = pop.num_rows
    nace = load_codes("nace")
    idx = pc.index_in(pop.column("nace"), value_set=pa.array(nace.codes))
    sections = pa.array(list(nace.mapping("section").values()) + [""])
    section = sections.take(idx.fill_null(len(nace.codes)))
    pop_size = np.clip(size_code[in_pop], 0, len(SIZE_ODDS) - 1)

    weight = _lookup(section, AUTOMATION_ODDS, 0.4) * SIZE_ODDS[pop_size]
    p = np.minimum(1.0, automating_share * n * weight / max(weight.sum(), 1e-12))
    automating = rng.random(n) < p
    role = np.full(n, "other", dtype=object)
    role[automating] = "automating"
    candidates = np.flatnonzero(~automating)
    n_links = int(rng.poisson(suppliers_per_firm, int(automating.sum())).sum())
    if len(candidates) and n_links:
        sw = (
            _lookup(section, SUPPLIER_ODDS, 0.5)[candidates]
            * np.sqrt(SIZE_ODDS[pop_size])[candidates]
        )
        chosen = rng.choice(candidates, size=n_links, replace=True, p=sw / sw.sum())
        role[np.unique(chosen)] = "supplier"
    group = np.where(role == "other", "control", "intervention")
    table = pa.table(
        {
            "kbo_number": pop.column("kbo_number"),
            "rsz_number": pop.column("rsz_number"),
            "group": pa.array(group, type=pa.string()),
        }
    )
    order = pc.sort_indices(table, [("kbo_number", "ascending"), ("rsz_number", "ascending")])
    return NbbSelection(
        table=table.take(order),
        role=pa.array(role, type=pa.string()).take(order),
        population=n,
        warehouse_employers=n_all,
    )


def write_list(table: pa.Table, out: Path | str) -> Path:
    """Write the list as the NBB CSV (header kbo_number,rsz_number,group), atomically."""
    out = Path(out)
    if out.is_dir():
        raise BadInput(f"--out {out} is a directory; give the name of the CSV file to write")
    cols = [table.column(c).combine_chunks() for c in ("kbo_number", "rsz_number", "group")]
    body = "\n".join(pc.binary_join_element_wise(*cols, ",").to_pylist())
    write_text(out, "kbo_number,rsz_number,group\n" + (body + "\n" if body else ""))
    return out


def generate_nbb_list(
    warehouse: Path | str, out: Path | str, seed: int = 24074, automating_share: float = 0.04
) -> NbbSelection:
    """Select and write; returns the selection (with roles) for reporting."""
    if Path(out).is_dir():
        raise BadInput(f"--out {out} is a directory; give the name of the CSV file to write")
    selection = select(warehouse, seed=seed, automating_share=automating_share)
    write_list(selection.table, out)
    return selection


def nbb_list_command(
    warehouse: Path = typer.Option(..., "--warehouse", help="Warehouse directory."),
    out: Path = typer.Option(..., "--out", help="CSV file to write (kbo_number,rsz_number,group)."),
    seed: int = typer.Option(24074, help="Seed of the random selection."),
    automating_share: float = typer.Option(
        0.04,
        min=0.0,
        max=1.0,
        help="Share of the population that automates (before suppliers are added), 0 to 1.",
    ),
) -> None:
    """Make a realistic synthetic NBB enterprise list (deliberation 24/074) from the warehouse."""
    from kluis.warehouse.layout import read_meta
    from kluis.warehouse.preflight import check_for_extract

    read_meta(warehouse)
    # the footers of what is read; a year without employments simply adds no staff
    check_for_extract(
        warehouse, PERIOD, tables=("employers", "employments"), complete=False, keys=False
    )
    selection = generate_nbb_list(warehouse, out, seed=seed, automating_share=automating_share)
    roles = selection.role.value_counts().to_pylist()
    counts = ", ".join(f"{r['values']}: {r['counts']}" for r in sorted(roles, key=str))
    typer.echo(
        f"wrote {out}: {selection.table.num_rows} enterprises of {selection.warehouse_employers} "
        f"employers in the warehouse ({counts})"
    )
