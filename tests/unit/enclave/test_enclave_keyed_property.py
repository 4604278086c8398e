"""Property: the gate knows every column made from a sequence number, however it was made.

Random Ibis pipelines derive new columns, one step at a time, from earlier ones (some from
person_id, some not: casts, arithmetic, string functions, CASE, a join with another table of
the same person); a column is made from the sequence number exactly when person_id is among
its ancestors. The gate's `keyed` set must say the same for every column of the compiled SQL.
"""

from __future__ import annotations

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from kluis.enclave.sqlcheck import check_rowwise
from tests.unit.enclave.catalog import CATALOG

OPS = ["cast", "mod", "concat", "case", "add"]


def _derive(t, op: str, a: str, b: str):
    x, y = t[a], t[b]
    if op == "cast":
        return x.cast("string")
    if op == "mod":
        return x.cast("int64") % 7
    if op == "concat":
        return x.cast("string") + y.cast("string")
    if op == "case":
        return ibis.cases((x.cast("string") == "1", y.cast("string")), else_="other")
    return x.cast("int64") + y.cast("int64")


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=5,
    ),
    join=st.booleans(),
)
def test_keyed_columns_are_exactly_those_made_from_person_id(steps, join):
    t = ibis.table(
        {"person_id": "int64", "year": "int64", "age": "string", "sex": "string"},
        name="table1_next",
    )
    made_from_id = {"person_id": True, "year": False, "age": False, "sex": False}
    if join:
        p = ibis.table(
            {"person_id": "int64", "year": "int64", "sep_code_prev": "string"},
            name="table2_previous",
        )
        t = t.join(p, [t.person_id == p.person_id, t.year == p.year]).select(
            t.person_id, t.year, t.age, t.sex, p.sep_code_prev
        )
        made_from_id["sep_code_prev"] = False
    for k, (op, i, j) in enumerate(steps):
        names = list(made_from_id)
        a, b = names[i % len(names)], names[j % len(names)]
        name = f"c{k}"
        t = t.mutate(**{name: _derive(t, op, a, b)})
        made_from_id[name] = made_from_id[a] or (
            op in ("concat", "case", "add") and made_from_id[b]
        )
    checked = check_rowwise(ibis.to_sql(t, dialect="duckdb"), CATALOG)
    for name, truth in made_from_id.items():
        assert (name in checked.rel.keyed) == truth, (name, ibis.to_sql(t, dialect="duckdb"))
