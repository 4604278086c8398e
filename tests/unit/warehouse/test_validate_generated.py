"""The generator's warehouse passes the validator untouched, and a break in it is found."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kluis.warehouse.layout import table_path
from kluis.warehouse.validate import validate_warehouse


def test_generated_warehouse_is_valid(small_warehouse: Path) -> None:
    report = validate_warehouse(small_warehouse)
    assert report.problems == []
    assert report.tables["person_year"]["files"] == 2026 - 2003 + 1
    assert report.tables["persons"]["rows"] > 3000


def test_a_person_removed_leaves_orphans_in_every_year(
    small_warehouse: Path, tmp_path: Path
) -> None:
    wh = Path(shutil.copytree(small_warehouse, tmp_path / "wh"))
    persons = pq.read_table(table_path(wh, "persons"))
    py = pa.concat_tables(
        pq.read_table(table_path(wh, "person_year", y), columns=["insz"]) for y in range(2003, 2027)
    )
    insz = py.column("insz")[0].as_py()
    expected = pc.sum(pc.equal(py.column("insz"), insz)).as_py()
    pq.write_table(
        persons.filter(pc.not_equal(persons.column("insz"), insz)), table_path(wh, "persons")
    )
    report = validate_warehouse(wh, max_examples=50)
    (orphans,) = report.find("orphan", "person_year", "insz")
    assert orphans.count == expected
    assert {e.value for e in orphans.examples} == {insz}
    for e in orphans.examples:  # each example points at the row that holds the number
        year = int(e.file.split("year=")[1].split("/")[0])
        t = pq.read_table(table_path(wh, "person_year", year))
        assert t.column("insz")[e.row - 1].as_py() == insz
