"""The attacks of issue 14, each run as an attacker would: take every table kluis let leave,
write one LP over all of them (linked_attacker.py, independent of kluis) and look for small
groups of persons it can pin down. Each scenario first shows that the attack works on the
tables protected one by one, so the test cannot pass by accident."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kluis.cli import app
from kluis.disclosure.against_history import REASON
from kluis.disclosure.api import crosstab, run, write_outputs
from kluis.disclosure.history import History
from kluis.disclosure.record import write_record
from kluis.disclosure.rules import WeakerRules
from kluis.disclosure.spec import TableSpec

from .linked_attacker import (
    Attacker,
    Query,
    Release,
    below_protection,
    pinned_small,
    plain,
    recoded,
)

REGION = {"1": "N", "2": "N", "3": "N", "4": "S", "5": "S", "6": "S"}
PROVINCES = list(REGION)
V = list("abcd")


SKEWED = ([0.3, 0.25, 0.05, 0.2, 0.12, 0.08], [0.45, 0.3, 0.15, 0.1])


def _micro(seed: int, n: int = 300, p=SKEWED) -> pd.DataFrame:
    """Persons with a province (in regions), a category v and a wage."""
    rng = np.random.default_rng(seed)
    prov = rng.choice(PROVINCES, n, p=p[0] if p else None)
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "province": prov,
            "region": [REGION[p] for p in prov],
            "v": rng.choice(V, n, p=p[1] if p else None),
            "wage": np.round(rng.lognormal(7.5, 0.6, n), 2),
        }
    )


def _spec(name: str, dims: list[str], **kw) -> TableSpec:
    return TableSpec(name=name, dimensions=[{"column": d} for d in dims], person_id="person", **kw)


def _released(pairs) -> list[Release]:
    """The releases that kluis said may leave."""
    return [rel for pt, rel in pairs if pt.ok]


def _release(pt, df: pd.DataFrame, dims) -> Release:
    return Release(pt.spec.name, set(df["person"]), dims, pt.frame())


def _attacker(df: pd.DataFrame, releases: list[Release]) -> Attacker:
    return Attacker(df, "person", {"province": PROVINCES, "v": V}, releases)


PROV_V = [plain("province", PROVINCES), plain("v", V)]
REGION_V = [recoded("region", "province", REGION), plain("v", V)]


def test_attack_1_recode_of_a_published_table(tmp_path):
    df = _micro(4)
    alone = [run(df, _spec("prov", ["province", "v"])), run(df, _spec("reg", ["region", "v"]))]
    both = [_release(alone[0], df, PROV_V), _release(alone[1], df, REGION_V)]
    assert not _attacker(df, both[:1]).disclosures(
        _attacker(df, both[:1]).hidden_cells(), below_protection(10)
    ), "the province table on its own is protected"
    att = _attacker(df, both)
    assert att.disclosures(att.hidden_cells(), below_protection(10)), "the attack works"

    first = run(df, _spec("prov", ["province", "v"]), history=tmp_path)
    second = run(df, _spec("reg", ["region", "v"]), history=tmp_path)
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, df, REGION_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []


def _with_small_group(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everybody (no cell below 10), and everybody but 15 persons."""
    df = _micro(seed, 2400, p=None)
    rng = np.random.default_rng(seed + 100)
    group = rng.choice(df["person"].to_numpy(), 15, replace=False)
    return df, df[~df["person"].isin(group)]


def test_attack_2_differencing_under_the_same_label(tmp_path):
    df, rest = _with_small_group(5)
    alone = [
        _release(run(df, _spec("all", ["province", "v"])), df, PROV_V),
        _release(run(rest, _spec("rest", ["province", "v"])), rest, PROV_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.differences(), pinned_small(10)), "the attack works"

    first = run(df, _spec("all", ["province", "v"]), history=tmp_path)
    second = run(rest, _spec("rest", ["province", "v"]), history=tmp_path)  # same label "all"
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, rest, PROV_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.differences() + att.hidden_cells(), pinned_small(10)) == []


def test_attack_2_differencing_through_a_recode(tmp_path):
    df, rest = _with_small_group(6)
    alone = [
        _release(run(df, _spec("all", ["province", "v"])), df, PROV_V),
        _release(run(rest, _spec("rest", ["region", "v"])), rest, REGION_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.differences(), pinned_small(10)), "the attack works"

    first = run(df, _spec("all", ["province", "v"]), history=tmp_path)
    second = run(rest, _spec("rest", ["region", "v"]), history=tmp_path)  # same label "all"
    assert first.ok
    released = _released(
        [(first, _release(first, df, PROV_V)), (second, _release(second, rest, REGION_V))]
    )
    att = _attacker(df, released)
    assert att.disclosures(att.differences() + att.hidden_cells(), pinned_small(10)) == []


def _mean_then_count(seed: int):
    """Four big cells each dominated by one high earner: the mean table hides them (and
    complements of its own), the count table does not."""
    df = _micro(seed, 400)
    for prov, v in (("1", "a"), ("2", "b"), ("4", "a"), ("1", "b")):
        first = df.index[(df["province"] == prov) & (df["v"] == v)][0]
        df.loc[first, "wage"] *= 1000
    mean = _spec("mean_wage", ["province", "v"], response="wage", statistic="mean")
    count = _spec("count", ["province", "v"])
    return df, mean, count


def test_attack_3_mean_table_before_count_table(tmp_path):
    df, mean, count = _mean_then_count(4)
    alone = [
        _release(run(df, mean), df, PROV_V),
        _release(run(df, count), df, PROV_V),
    ]
    att = _attacker(df, alone)
    assert att.disclosures(att.hidden_cells(), below_protection(10)), "the attack works"
    for order in ((mean, count), (count, mean)):
        hist = tmp_path / order[0].name
        pts = [run(df, s, history=hist) for s in order]
        assert pts[0].ok
        released = _released([(pt, _release(pt, df, PROV_V)) for pt in pts])
        att = _attacker(df, released)
        assert att.disclosures(att.hidden_cells(), below_protection(10)) == [], order[0].name


def test_attack_4_order_statistic_table_protects_its_counts():
    df = _micro(2)
    # wages in classes of 500, the top class open: large cells share their maximum
    df["wage"] = np.minimum(np.round(df["wage"] / 500) * 500, 1500.0)
    pt = run(df, _spec("max_wage", ["province", "v"], response="wage", statistic="max"))
    released = _released([(pt, _release(pt, df, PROV_V))])
    att = _attacker(df, released)
    small = [q for q in att.hidden_cells() if 1 <= q.truth <= 9]
    assert small, "the table hides small cells"
    assert att.disclosures(att.hidden_cells(), below_protection(10)) == []


def test_attack_5_group_disclosure_is_not_given_away_by_zeros():
    df = _micro(3)
    df.loc[df["province"] == "3", "v"] = "a"  # everybody of province 3 has v = a
    df = pd.concat(  # enough persons that the cell is not small, only all of its group
        [
            df,
            pd.DataFrame(
                {
                    "person": 1000 + np.arange(12),
                    "province": "3",
                    "region": "N",
                    "v": "a",
                    "wage": 1000.0,
                }
            ),
        ],
        ignore_index=True,
    )
    pt = run(df, _spec("count", ["province", "v"]))
    st = pt.status_frame()
    row = st[(st["province"] == "3") & (st["v"] == "a")].iloc[0]
    assert row["status"] == "primary" and "group" in row["reason"]
    released = _released([(pt, _release(pt, df, PROV_V))])
    att = _attacker(df, released)
    eqs = att.equations()
    everybody = np.ones(len(att.pieces), dtype=bool)
    others = Query("province 3, v != a", everybody, {"province": {"3"}, "v": {"b", "c", "d"}}, 0)
    group = Query("province 3", everybody, {"province": {"3"}}, 0)
    low_group, _ = att.interval(group, eqs)
    _, high_others = att.interval(others, eqs)
    # the attacker must not be able to conclude that everybody of province 3 has v = a
    assert low_group < 1 - 1e-6 or high_others > 0.5


def _numbers_by_cell(frame: pd.DataFrame, dims: list[str]) -> dict[tuple, list[float]]:
    """Every number a file shows on the row of each cell."""
    out: dict[tuple, list[float]] = {}
    for _, row in frame.iterrows():
        vals = []
        for c, v in row.items():
            if c in dims:
                continue
            try:
                x = float(str(v).replace(",", ""))
            except ValueError:
                continue
            if np.isfinite(x):
                vals.append(x)
        out[tuple(str(row[d]) for d in dims)] = vals
    return out


def _html_rows(html: str) -> pd.DataFrame:
    """The report's cell table (the last table of the page) as a frame of strings."""
    import re

    table = html[html.rindex("<table>") :]
    head = re.findall(r"<th>(.*?)</th>", table.split("</tr>")[0])
    rows = re.findall(r'<tr class="\w+">(.*?)</tr>', table, flags=re.S)
    cells = [re.findall(r"<td>(.*?)</td>", r, flags=re.S) for r in rows]
    return pd.DataFrame(cells, columns=head)


def _derivations(numbers: list[float]) -> list[float]:
    """What a reader could compute from a row: each number, sums, differences, x/ratio."""
    out = list(numbers)
    for a, b in itertools.permutations(numbers, 2):
        out += [a - b, a + b]
    out += [x / 0.15 for x in numbers]
    return out


def test_attack_6_checkers_files_give_no_hidden_value_away(tmp_path):
    df = _micro(1, 600)
    df.loc[df.index[:3], "wage"] *= 500  # dominated cells in the mean table
    for spec in (
        _spec("count", ["province", "v"]),
        _spec("mean", ["province", "v"], response="wage", statistic="mean"),
    ):
        # above EXACT_AUDIT_LIMIT hidden cells the audit only certifies: force that path
        pt = run(df, spec, exact_audit=False)
        paths = write_outputs(
            pt, tmp_path / spec.name / "public", tmp_path / spec.name / "internal"
        )
        assert [p.name for p in (tmp_path / spec.name / "public").iterdir()] == [f"{spec.name}.csv"]
        assert {paths["status"].parent, paths["report"].parent} == {
            tmp_path / spec.name / "internal"
        }
        assert "NOT FOR RELEASE" in paths["report"].read_text()
        public = pd.read_csv(paths["table"], dtype=str)
        assert set(public["status"]) == {"published", "suppressed"}  # not which are small
        # what the attacker knows from the public table alone: cells it pins are fair game
        att = _attacker(df, [_release(pt, df, PROV_V)])
        eqs = att.equations()
        known = {}
        for q in att.hidden_cells():
            lo, hi = att.interval(q, eqs)
            known[q.name] = hi - lo < 0.5
        truths = {"count": pt.systems[0].values}
        if len(pt.systems) > 1:
            truths["total"] = pt.systems[1].values
        coords = pt.frame()[["province", "v"]].astype(str)
        files = {
            "public": pd.read_csv(paths["table"], dtype=str),
            "status": pd.read_csv(paths["status"], dtype=str),
            "report": _html_rows(paths["report"].read_text()),
        }
        for label, frame in files.items():
            numbers = _numbers_by_cell(frame, ["province", "v"])
            for cell in np.flatnonzero(pt.hidden):
                key = tuple(coords.iloc[cell])
                name = f"{spec.name}: province={key[0]}, v={key[1]}"
                if known.get(name) or key not in numbers:
                    continue
                derived = _derivations(numbers[key])
                for system, truth in truths.items():
                    hits = [x for x in derived if abs(x - truth[cell]) < 1e-6 * max(1, truth[cell])]
                    assert not hits, (label, spec.name, key, system, truth[cell], numbers[key])


DELIBERATION = Path(__file__).resolve().parents[3] / "deliberations" / "26-104.yaml"


def _cli(*args: str):
    return CliRunner().invoke(app, ["tables", "protect", *map(str, args)])


def test_attack_7_rules_come_from_the_deliberation(tmp_path):
    df = _micro(7)
    data = tmp_path / "micro.csv"
    df.to_csv(data, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: loose\ndimensions:\n  - column: province\n  - column: v\nperson_id: person\n"
        "rules:\n  min_frequency: 3\n"
    )
    for extra, source in (
        (["--deliberation", DELIBERATION], "deliberation 26/104"),
        ([], "the default output rules"),
    ):
        out = tmp_path / "out"
        res = _cli(data, "--spec", spec, "--out", out, *extra)
        assert res.exit_code == 2, res.output
        assert f"{spec}:7: rules.min_frequency: 3 is below the minimum of 10 set by {source}" in (
            res.output
        )
        assert "Traceback" not in res.output and not out.exists()
    # stricter rules are taken, and the deliberation's others still apply
    spec.write_text(spec.read_text().replace("min_frequency: 3", "min_frequency: 15"))
    res = _cli(data, "--spec", spec, "--out", tmp_path / "strict", "--deliberation", DELIBERATION)
    assert res.exit_code in (0, 1), res.output
    assert "rules of deliberation 26/104: minimum 15 persons per cell" in res.output
    assert "(2,85) dominance" in res.output
    status = pd.read_csv(tmp_path / "strict" / "internal" / "loose.internal-status.csv", dtype=str)
    counts = run(df, _spec("x", ["province", "v"])).systems[0].values
    twelve = [i for i, c in enumerate(counts) if 10 <= c < 15]
    assert twelve and all(status["status"].iloc[i] == "primary" for i in twelve)
    # the API refuses weaker rules the same way
    with pytest.raises(WeakerRules, match="min_frequency: 3 is below the minimum of 10"):
        crosstab(
            df,
            "province",
            "v",
            person="person",
            rules={"min_frequency": 3},
            deliberation=DELIBERATION,
        )
    with pytest.raises(WeakerRules, match="switches off the p% rule"):
        crosstab(
            df,
            "province",
            "v",
            values="wage",
            aggfunc="mean",
            person="person",
            rules={"p_percent": None},
        )


def _blocked_on(lock: Path, timeout: float = 60.0) -> bool:
    """Wait until some process waits for the flock on `lock` (seen in /proc/locks)."""
    inode = os.stat(lock).st_ino
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in Path("/proc/locks").read_text().splitlines():
            if "->" in line and line.split()[-3].endswith(f":{inode}"):
                return True
        time.sleep(0.05)
    return False


def test_attack_8_concurrent_releases_are_serialised(tmp_path):
    df, rest = _with_small_group(8)
    hist = tmp_path / "history"
    paths = {}
    for name, frame in (("everybody", df), ("nearly", rest)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ndimensions:\n  - column: province\n  - column: v\nperson_id: person\n"
        )
    # an earlier release of everybody is being recorded (the lock is held) while a release of
    # everybody but 15 persons starts: it must wait, then be audited against the first
    first = run(df, _spec("everybody", ["province", "v"]))
    h = History(hist)
    with h.lock():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kluis.cli",
                "tables",
                "protect",
                paths["nearly"],
                "--spec",
                tmp_path / "nearly.yaml",
                "--history",
                hist,
                "--out",
                tmp_path / "o2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert _blocked_on(hist.parent / f".{hist.name}.lock"), "the second run waits"
        h.add_record(write_record(first, tmp_path / "rec"))
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    # it was audited against the release recorded while it waited: cells that would give the
    # 15 persons away were hidden for that reason, and it took the next number
    status = pd.read_csv(tmp_path / "o2" / "internal" / "nearly.internal-status.csv", dtype=str)
    assert (status["reason"] == REASON).any()
    assert [p.name for p in h.releases()] == ["00001-everybody", "00002-nearly"]
    released = [_release(first, df, PROV_V)]
    second = pd.read_csv(tmp_path / "o2" / "public" / "nearly.csv", dtype={"province": str})
    released.append(Release("nearly", set(rest["person"]), PROV_V, second))
    att = _attacker(df, released)
    assert att.disclosures(att.differences() + att.hidden_cells(), pinned_small(10)) == []
