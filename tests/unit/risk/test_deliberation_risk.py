"""The deliberation's `risk:` section: filled for 26/104, checked against the deliberation's own
variables with FILE:LINE errors."""

from __future__ import annotations

from pathlib import Path

from kluis.deliberation import load, problems

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "deliberations" / "26-104.yaml"


def test_26_104_names_its_keys() -> None:
    d = load(SOURCE)
    assert d.risk is not None
    assert d.risk.keys == (
        "age",
        "sex",
        "nationality",
        "birth_country",
        "province",
        "household_type",
        "n_children",
    )
    assert d.risk.k == 3 and d.risk.person == "person_id"


def _with_risk(tmp_path: Path, section: str) -> Path:
    text = SOURCE.read_text(encoding="utf-8")
    head = text[: text.index("\nrisk:")]
    path = tmp_path / "d.yaml"
    path.write_text(head + "\n" + section, encoding="utf-8")
    return path


def test_every_problem_is_located(tmp_path: Path) -> None:
    path = _with_risk(
        tmp_path,
        "risk:\n"
        "  keys: [age, agee, age]\n"
        "  person: province\n"
        "  sensitive: age\n"
        "  importance: {zzz: 2, age: -1}\n",
    )
    found = [str(p) for p in problems(path)]
    line = len(path.read_text().splitlines())
    start = line - 4
    assert f"{path}:{start + 1}: risk.keys[1]: unknown variable 'agee'" in " ".join(found)
    assert any("risk.keys[2]: duplicate variable 'age'" in p for p in found)
    assert any(
        f":{start + 2}: risk.person: 'province' must be the person sequence number" in p
        for p in found
    )
    assert any("risk.sensitive: 'age' is a key variable" in p for p in found)
    assert any("risk.importance.zzz: 'zzz' is not one of risk.keys" in p for p in found)
    assert any("risk.importance.age: importance must be > 0" in p for p in found)


def test_shape_errors_are_located(tmp_path: Path) -> None:
    path = _with_risk(tmp_path, "risk:\n  keys: []\n  k: 1\n  colour: red\n")
    found = [str(p) for p in problems(path)]
    assert any("risk.keys" in p for p in found)
    assert any("risk.k" in p for p in found)
    assert any("risk.colour: unknown field 'colour'" in p for p in found)


def test_the_person_cannot_be_a_key(tmp_path: Path) -> None:
    path = _with_risk(tmp_path, "risk:\n  keys: [person_id]\n  person: person_id\n")
    found = [str(p) for p in problems(path)]
    assert any("risk.person: 'person_id' is a key variable" in p for p in found)
