"""What goes to manual review is scanned: small counts, minima/maxima, listings, identifiers."""

from __future__ import annotations

from pathlib import Path

from kluis.enclave.scan import scan_file, scan_pspp_csv

CROSSTAB = """Table: Province × Sex
,,,Sex,,Total
,,,Male,Female,
Province,Antwerp,Count,261,238,499
,Luxembourg,Count,3,36,39
Total,,Count,264,274,538

Table: Descriptive Statistics
,N,Mean,Std Dev,Minimum,Maximum
age,538,41.50,12.10,15,64
"""


def test_pspp_tables():
    flags = scan_pspp_csv(CROSSTAB, 10)
    reasons = {(f["table"], f["value"]): f["reason"] for f in flags}
    assert reasons[("Province × Sex", "3")] == "count below 10"
    assert reasons[("Descriptive Statistics", "15")].startswith("a minimum or maximum")
    assert reasons[("Descriptive Statistics", "64")].startswith("a minimum or maximum")
    assert ("Province × Sex", "261") not in reasons
    assert ("Descriptive Statistics", "41.50") not in reasons


def test_a_raw_data_frame_is_flagged(tmp_path: Path):
    raw = tmp_path / "raw.csv"
    raw.write_text("person_id,province,sex\n" + "".join(f"{i},10000,1\n" for i in range(1, 400)))
    reasons = {f["reason"] for f in scan_file(raw, 10)}
    assert "identifier column (row-level data)" in reasons
    assert any("listing of cases" in r for r in reasons)


def test_figures_and_binary_files_are_flagged_for_a_person(tmp_path: Path):
    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG\r\n")
    data = tmp_path / "x.parquet"
    data.write_bytes(b"PAR1\0\0")
    assert "figure" in scan_file(png, 10)[0]["reason"]
    assert "cannot be scanned" in scan_file(data, 10)[0]["reason"]
