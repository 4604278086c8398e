"""project.yaml as a hostile researcher writes it, read through the one YAML reader: each is one
ProjectError naming the file and line, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kluis.enclave.project import ProjectError, load_project

HEAD = "name: p\ndeliberation: 26/104\n"


def _project(root: Path, text: bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "project.yaml").write_bytes(text)
    (root / "a.py").write_text("print(1)\n")
    return root


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (HEAD.encode() + b"researchers: " + b"[" * 5000 + b"]" * 5000 + b"\n", ":3: nested"),
        (HEAD.encode() + b"researchers: [a]\nentry: [a.py]\nentry: [b.py]\n", ":5: entry: dup"),
        (HEAD.encode() + b"researchers: [\xff]\nentry: [a.py]\n", ":3: byte 0xff"),
        (
            HEAD.encode()
            + b"x: &a [q, q, q, q, q, q, q, q, q, q]\n"
            + b"".join(
                f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n".encode()
                for i in range(7)
            )
            + b"researchers: [*a6]\nentry: [a.py]\n",
            "values",
        ),
        (b"\x00\x01\x02", ":1: a NUL byte"),
        (b"", ":1: project.yaml must be a YAML mapping"),
    ],
    ids=["nested", "duplicate", "not-utf8", "alias-bomb", "binary", "empty"],
)
def test_a_hostile_project_yaml_is_one_located_error(tmp_path, text, says):
    root = _project(tmp_path / "p", text)
    with pytest.raises(ProjectError) as caught:
        load_project(root)
    message = str(caught.value)
    assert "project.yaml" in message and says in message, message
    assert "\n" not in message


def test_a_huge_project_yaml_is_refused_before_it_is_read(tmp_path):
    root = _project(tmp_path / "p", HEAD.encode())
    with open(root / "project.yaml", "r+b") as fh:
        fh.truncate(200 << 20)  # sparse
    with pytest.raises(ProjectError, match="at most"):
        load_project(root)
