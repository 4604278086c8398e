"""Hostile projects that try to smuggle row-level data out through what the enclave copies:
PSPP syntax that writes over PSPP's own output files, queries the planner did not foresee,
column names the enclave uses for itself."""

from __future__ import annotations

import pytest

from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, write_project

pytestmark = pytest.mark.xdist_group("enclave")

# PSPP writes files wherever the syntax says (--safer stops HOST and ERASE only): this syntax
# writes every person's sequence number over the output files PSPP is asked to produce.
OVERWRITE = """GET FILE='sav/table1_next_2025.sav' /KEEP=person_id province.
FREQUENCIES /VARIABLES=province.
SAVE TRANSLATE /OUTFILE='/out/pspp.html' /TYPE=CSV /REPLACE /FIELDNAMES.
SAVE TRANSLATE /OUTFILE='/out/pspp.csv' /TYPE=CSV /REPLACE /FIELDNAMES.
"""


@pytest.fixture(scope="module")
def overwritten(enclave_extracts, enclave_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("pspp-overwrite")
    project = write_project(root / "p", "26/104", {"rows.sps": OVERWRITE})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], root / "r")
    return code, text, root / "r"


def test_pspp_syntax_cannot_replace_the_output_files(overwritten):
    code, text, request = overwritten
    assert code == 0, text
    out = load_request(request).output("rows")
    assert out.kind == "pspp" and out.status == "review"
    for role in ("output", "html"):
        shown = (request / out.files[role]).read_text(encoding="utf-8")
        assert "person_id" not in shown, role  # what PSPP made, not the syntax's listing
        assert "Frequency" in shown  # the FREQUENCIES table PSPP made


def test_every_pspp_file_that_leaves_is_scanned(tmp_path):
    """Defence behind the names: whatever sits in the HTML file is flagged like the CSV."""
    from kluis.enclave.scan import scan_pspp_files

    csv = tmp_path / "a.csv"
    html = tmp_path / "a.html"
    csv.write_text("Table: x\n,Frequency\nA,20\n", encoding="utf-8")
    html.write_text("person_id,province\n" + "".join(f"{i},B\n" for i in range(300)))
    flags = scan_pspp_files(csv, html, 10)
    assert any(f["table"] == "a.html" and "identifier" in f["reason"] for f in flags), flags


RESERVED = """import kluis.safe as safe
t = safe.data("table1_next")
t = t.filter(t.year == 2025)
safe.crosstab(t.mutate(__pid=t.province), "__pid", name="dim_pid")
safe.crosstab(t.mutate(__value=t.age), "sex", values="__value", aggfunc="max", name="val")
safe.histogram(t.mutate(__pid=t.nr_registration_year), "__pid", edges=[1990, 2030], name="hist")
safe.describe(t.mutate(__pid=t.nr_registration_year), ["__pid"], name="desc")
safe.crosstab(t, "sex", name="control")
"""


def test_the_enclaves_own_column_names_are_refused_by_name(
    enclave_extracts, enclave_home, tmp_path
):
    """A dimension or value called like a column the enclave adds (`__pid`, the person) made
    two columns of one name in the trusted query; it failed closed with an internal error.
    Now it is refused with its reason and the run has no error."""
    project = write_project(tmp_path / "p", "26/104", {"a.py": RESERVED})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    for name in ("dim_pid", "val", "hist", "desc"):
        out = req.output(name)
        assert out.status == "refused" and "__" in out.reason and "reserved" in out.reason, out
    assert req.output("control").status in ("safe", "suppressed")
    assert not [e for e in req.events if e["kind"] == "error"]


# a number computed from the data inside the sandbox, then published through what is *asked
# for* rather than through a query constant: a column name, an output name, histogram edges,
# a quantile
COMPUTED = """import kluis.safe as safe
t = safe.data("table1_next")
t = t.filter(t.year == 2025)
secret = int(t.count().execute())
dim = "n" + str(secret)
safe.crosstab(t.mutate(**{dim: t.sex}), dim, name="named_dim")
safe.crosstab(t, "sex", name="rows" + str(secret))
safe.histogram(t.mutate(y=t.year), "y", edges=[0, secret / 7, 10000], name="edges")
safe.crosstab(t, "sex", values="year", aggfunc="quantile", q=secret / 100000, name="q")
safe.crosstab(t, "sex", name="plain")
safe.histogram(t.mutate(y=t.year), "y", range=(2000, 2030), bins=6, name="grid")
safe.crosstab(t, "province")
"""


def test_values_computed_in_the_sandbox_go_to_a_checker_by_any_route(
    enclave_extracts, enclave_home, tmp_path
):
    project = write_project(tmp_path / "p", "26/104", {"a.py": COMPUTED})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    smuggled = [o for o in req.outputs if o.name.startswith("rows")]
    assert len(smuggled) == 1
    for out in [req.output(n) for n in ("named_dim", "edges", "q")] + smuggled:
        assert out.status == "review" and "not written in the project" in out.reason, out
    for name in ("plain", "grid", "a_table_007"):  # written out, or named by kluis.safe
        assert req.output(name).status in ("safe", "suppressed"), req.output(name)


NEAR_UNIQUE = """-- output: by_incapacity_start
SELECT incapacity_start, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY 1;
-- output: by_nationality
SELECT nationality, count(*) AS n FROM table1_next WHERE year = 2025 GROUP BY 1;
-- output: by_incapacity_start_two_years
SELECT incapacity_start, count(DISTINCT person_id) AS n FROM table1_next
WHERE year IN (2024, 2025) GROUP BY 1;
"""


def test_grouping_by_a_near_unique_column_is_refused(enclave_extracts, enclave_home, tmp_path):
    """GROUP BY a month of incapacity (most months held by one or two persons) was 'suppressed':
    every count hidden, but its labels listed the months in which someone fell ill."""
    project = write_project(tmp_path / "p", "26/104", {"q.sql": NEAR_UNIQUE})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 0, text
    req = load_request(tmp_path / "r")
    out = req.output("by_incapacity_start")
    assert out.status == "refused" and "labels would list individual values" in out.reason, out
    assert not (tmp_path / "r" / "outputs" / "by_incapacity_start.csv").exists()
    assert req.output("by_nationality").status in ("safe", "suppressed")  # a few rare codes
    # persons on several rows (two years): distinct persons are counted, and it is refused too
    panel = req.output("by_incapacity_start_two_years")
    assert panel.status == "refused" and "labels would list individual values" in panel.reason


# the researcher's program writes terminal escape sequences (set the window title, write the
# clipboard) into what the steward's terminal shows: its last log line and a forged source
ESCAPES = r"""import json, sys
import kluis.safe as safe
import kluis.enclave.safe as impl
t = safe.data("table1_next")
safe.crosstab(t.filter(t.year == 2025), "sex", name="plain")
box = impl._context().outbox / "intents"
forged = json.loads(open(sorted(box.glob("*.json"))[-1]).read())
forged.update(name="forged", source="a.py:1\x1b]52;c;ZWNobyBwd25lZA==\x07")
open(box / "99999.json", "w").write(json.dumps(forged))
print("\x1b]0;pwned\x07\x1b[2J", file=sys.stderr)
sys.exit(3)
"""


def test_control_characters_from_the_sandbox_never_reach_the_terminal(
    enclave_extracts, enclave_home, tmp_path
):
    project = write_project(tmp_path / "p", "26/104", {"a.py": ESCAPES})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    assert code == 1  # the entry failed
    assert "forged" in text and "pwned" in text  # shown, but defused
    assert "\x1b" not in text and "\x07" not in text, repr(text)


def test_pspp_output_files_replaced_by_the_syntax_are_refused(
    enclave_extracts, enclave_home, tmp_path, monkeypatch
):
    """Syntax that learns the output files' names anyway (they are on PSPP's command line, in
    /proc/self/cmdline) and writes a listing over them: the files are no longer the ones PSPP
    opened, and the output is refused."""
    from kluis.enclave import entries

    monkeypatch.setattr(entries.secrets, "token_hex", lambda n: "known")
    syntax = OVERWRITE.replace("pspp.html", "known.html").replace("pspp.csv", "known.csv")
    project = write_project(tmp_path / "p", "26/104", {"rows.sps": syntax})
    code, text = enclave_run(project, enclave_extracts["26-104-full"], tmp_path / "r")
    out = load_request(tmp_path / "r").output("rows")
    assert out.status == "refused" and "replaced" in out.reason, out
    assert not list((tmp_path / "r" / "outputs").glob("rows*"))
