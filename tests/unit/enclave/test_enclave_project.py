"""project.yaml: every problem named with file and line; links and missing entries refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from kluis.enclave.project import ProjectError, copy_project, load_project

GOOD = "name: p\ndeliberation: 26/104\nresearchers: [a]\nentry: [a.py, b.sql]\n"


def _project(tmp_path: Path, text: str = GOOD) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "project.yaml").write_text(text)
    (tmp_path / "a.py").write_text("print(1)\n")
    (tmp_path / "b.sql").write_text("SELECT 1;\n")
    return tmp_path


def test_loaded_hashed_and_copied(tmp_path: Path):
    p = load_project(_project(tmp_path / "p"))
    assert p.entries == [("a.py", "python"), ("b.sql", "sql")]
    assert set(p.files) == {"project.yaml", "a.py", "b.sql"}
    copy_project(p, tmp_path / "copy")
    assert (tmp_path / "copy" / "a.py").read_text() == "print(1)\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: p\ndeliberation: 26-104\nresearchers: [a]\nentry: [a.py]\n", ":2: deliberation"),
        ("name: p\ndeliberation: 26/104\nresearchers: [a]\nentry: [../x.py]\n", ":4: entry"),
        ("name: p\ndeliberation: 26/104\nresearchers: [a]\nentry: [a.R]\n", ":4: entry"),
        ("name: p\ndeliberation: 26/104\nresearchers: []\nentry: [a.py]\n", ":3: researchers"),
        (
            "name: p\ndeliberation: 26/104\nresearchers: [a]\nentry: [a.py]\nrules: {}\n",
            ":5: rules",
        ),
        ("name: [p\n", ":2: not valid YAML"),
    ],
)
def test_problems_name_the_line(tmp_path: Path, text: str, where: str):
    root = _project(tmp_path, text)
    with pytest.raises(ProjectError, match=f"project.yaml{where}"):
        load_project(root)


def test_missing_entry_and_links_are_refused(tmp_path: Path):
    root = _project(tmp_path / "p", GOOD.replace("b.sql", "c.sql"))
    with pytest.raises(ProjectError, match="entry 'c.sql' is not a file"):
        load_project(root)
    root = _project(tmp_path / "q")
    (root / "keys").symlink_to("/etc")
    with pytest.raises(ProjectError, match="links are not allowed"):
        load_project(root)


def test_a_linked_project_file_is_refused_before_it_is_read(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("deliberation: [the key store's contents\n")
    root = _project(tmp_path / "p")
    (root / "project.yaml").unlink()
    (root / "project.yaml").symlink_to(secret)
    with pytest.raises(ProjectError, match="links are not allowed") as info:
        load_project(root)
    assert "key store" not in str(info.value)
