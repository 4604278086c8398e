"""Release history: what already left the secure environment counts as published.

Each release keeps its cells (identity key, true count, published or not, protection needed) and,
when built from microdata, its members (person, dimension codes). A new table is audited together
with every earlier release of the same population (a cell published anywhere is published
everywhere: a new margin can make an old suppression recomputable), and compared with releases of
other populations for differencing (two tables whose cells differ by a small group of persons).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from kluis.disclosure.attacker import check_protection
from kluis.disclosure.linear import TableStructure


def _key_strings(ts: TableStructure) -> list[str]:
    return ["|".join(f"{d}={lv}:{c}" for d, lv, c in k) for k in ts.cell_keys()]


class History:
    """A directory of releases, in the order they were made."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def releases(self) -> list[Path]:
        if not self.path.exists():
            return []
        return sorted(p for p in self.path.iterdir() if p.is_dir() and (p / "meta.json").exists())

    def add(self, pt, members: pd.DataFrame | None = None) -> Path:
        """Record a protected table (atomically: a half-written release is never visible)."""
        self.path.mkdir(parents=True, exist_ok=True)
        seq = len(self.releases()) + 1
        final = self.path / f"{seq:05d}-{pt.spec.name}"
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.path))
        ts = pt.cells.structure
        count = pt.systems[0] if pt.systems else None
        cells = pd.DataFrame(
            {
                "key": _key_strings(ts),
                "value": count.values if count else pt.cells.stats["weighted"].to_numpy(),
                "published": ~pt.hidden,
                "up": count.up if count else np.zeros(ts.n_cells),
                "lo": count.lo if count else np.zeros(ts.n_cells),
            }
        )
        cells.to_parquet(tmp / "cells.parquet", index=False)
        dims = [
            {
                "name": d.name,
                "codes": list(d.codes),
                "levels": [[n, list(map(list, m))] for n, m in d.levels],
                "total": d.total,
            }
            for d in ts.dims
        ]
        meta = {
            "name": pt.spec.name,
            "population": pt.spec.population,
            "statistic": pt.spec.statistic,
            "min_frequency": pt.spec.rules.min_frequency,
            "dims": dims,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        if members is not None:
            members.to_parquet(tmp / "members.parquet", index=False)
        os.replace(tmp, final)
        return final

    def _load(self, rel: Path) -> tuple[dict, pd.DataFrame, TableStructure]:
        from kluis.disclosure.linear import Dimension

        meta = json.loads((rel / "meta.json").read_text())
        dims = tuple(
            Dimension(
                name=d["name"],
                codes=tuple(d["codes"]),
                levels=tuple((n, tuple(tuple(x) for x in m)) for n, m in d["levels"]),
                total=d["total"],
            )
            for d in meta["dims"]
        )
        return meta, pd.read_parquet(rel / "cells.parquet"), TableStructure(dims)

    def linked_audit(self, pt) -> list[dict]:
        """Audit the new table together with every earlier release of the same population."""
        tables = []
        for rel in self.releases():
            meta, cells, ts = self._load(rel)
            if meta["population"] == pt.spec.population and meta["statistic"] == "count":
                tables.append((rel.name, cells, ts))
        if not tables or not pt.systems:
            return []
        ts_new = pt.cells.structure
        count = pt.systems[0]
        new = pd.DataFrame(
            {
                "key": _key_strings(ts_new),
                "value": count.values,
                "published": ~pt.hidden,
                "up": count.up,
                "lo": count.lo,
            }
        )
        tables.append(("new table", new, ts_new))
        # one variable per distinct quantity: same key and same true value
        index: dict[tuple[str, float], int] = {}
        blocks, values, published, up, lo, owner = [], [], [], [], [], []
        for name, cells, ts in tables:
            cols = np.empty(len(cells), dtype=np.int64)
            for i, (k, v) in enumerate(zip(cells["key"], cells["value"], strict=True)):
                j = index.setdefault((k, float(v)), len(index))
                cols[i] = j
                if j == len(values):
                    values.append(float(v))
                    published.append(False)
                    up.append(0.0)
                    lo.append(0.0)
                    owner.append((name, k))
                published[j] |= bool(cells["published"].iat[i])
                up[j] = max(up[j], float(cells["up"].iat[i]))
                lo[j] = max(lo[j], float(cells["lo"].iat[i]))
            blocks.append((ts.relations(), cols))
        n = len(values)
        rows = [
            sp.csr_matrix((m.data, cols[m.indices], m.indptr), shape=(m.shape[0], n))
            for m, cols in blocks
        ]
        m_all = sp.vstack(rows).tocsr()
        vals = np.array(values)
        hidden = ~np.array(published)
        chk = check_protection(m_all, vals, hidden, np.array(up), np.array(lo), exact=False)
        out = []
        for j in np.flatnonzero(chk.violated):
            out.append(
                {
                    "severity": "error",
                    "kind": "linked",
                    "cell": owner[j][1] or "(grand total)",
                    "detail": f"with earlier releases the attacker narrows this cell to "
                    f"[{chk.intervals.low[j]:g}, {chk.intervals.high[j]:g}]",
                }
            )
        return out

    def differencing(self, pt, members: pd.DataFrame) -> list[dict]:
        """Cells published both here and in a release of another population, differing by few."""
        out = []
        n_min = pt.spec.rules.min_frequency
        new_dims = [d.column for d in pt.spec.dimensions]
        new_pub = dict(zip(_key_strings(pt.cells.structure), ~pt.hidden, strict=True))
        for rel in self.releases():
            meta, cells, _ = self._load(rel)
            if meta["population"] == pt.spec.population or not (rel / "members.parquet").exists():
                continue
            common = [d for d in new_dims if d in {x["name"] for x in meta["dims"]}]
            old_pub = dict(zip(cells["key"], cells["published"], strict=True))
            con = duckdb.connect()
            con.register("a", members[["person", *common]])
            con.register("b", pd.read_parquet(rel / "members.parquet")[["person", *common]])
            qc = ", ".join(f'"{c}"' for c in common)
            sets = ", ".join(
                "(" + ", ".join(f'"{c}"' for c, on in zip(common, mask, strict=True) if on) + ")"
                for mask in np.ndindex(*([2] * len(common)))
            )
            diff = con.execute(
                f"""WITH d AS ((SELECT person, {qc} FROM a EXCEPT SELECT person, {qc} FROM b)
                              UNION ALL
                              (SELECT person, {qc} FROM b EXCEPT SELECT person, {qc} FROM a))
                    SELECT {qc}, count(DISTINCT person) AS n FROM d
                    GROUP BY GROUPING SETS ({sets})"""
            ).df()
            con.close()
            for row in diff.itertuples(index=False):
                n = int(row.n)
                if not 0 < n < n_min:
                    continue
                parts = [f"{c}=code:{getattr(row, c)}" for c in common if pd.notna(getattr(row, c))]
                key = "|".join(sorted(parts))
                if new_pub.get(key) and old_pub.get(key):
                    out.append(
                        {
                            "severity": "error",
                            "kind": "differencing",
                            "cell": key or "(grand total)",
                            "detail": f"differs from release {rel.name} "
                            f"({meta['population']}) by {n} person(s)",
                        }
                    )
        return out


def publish_dir(tmp: Path, final: Path) -> None:
    """Replace `final` by the finished directory `tmp` without a half-written state."""
    if final.exists():
        old = final.with_name(final.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)
