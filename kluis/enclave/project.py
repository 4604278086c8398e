"""A researcher project: `project.yaml` plus the syntax files it names.

    name: labour-reserve             # letters, digits, . _ -
    deliberation: 26/104             # the extract must be of this deliberation
    title: Labour reserve by province, sex and socio-economic position
    researchers: [alice, bob]        # kluis user names; a researcher runs only their projects
    entry:                           # run in this order
      - labour_reserve.py            #   Python with kluis.safe
      - tables.sql                   #   DuckDB SELECT ... GROUP BY ... queries
      - frequencies.sps              #   SPSS syntax, run by GNU PSPP

The whole folder is copied (links refused, so a link cannot smuggle a file in) and hashed; the
copy is what runs, read-only, so the code recorded in the request is the code that ran.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kluis.enclave.request import NAME_PATTERN
from kluis.errors import BadInput

PROJECT_FILE = "project.yaml"
KINDS = {".py": "python", ".sql": "sql", ".sps": "spss"}
MAX_FILES = 1_000
MAX_BYTES = 50 << 20
_SKIP = re.compile(r"(^|/)(\.[^/]*|__pycache__)(/|$)")


class ProjectError(BadInput):
    """A project folder or project.yaml that cannot be used; names the file and line."""


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=NAME_PATTERN)
    deliberation: str = Field(pattern=r"^\d{2}/\d{3}$")
    title: str = ""
    researchers: list[str] = Field(min_length=1)
    entry: list[str] = Field(min_length=1)

    @field_validator("entry")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        for e in value:
            p = Path(e)
            if p.is_absolute() or ".." in p.parts or not e.strip():
                raise ValueError(f"entry {e!r} must be a path inside the project")
            if p.suffix.lower() not in KINDS:
                raise ValueError(f"entry {e!r}: only .py, .sql and .sps files can be run")
        if len(set(value)) != len(value):
            raise ValueError("an entry file is named twice")
        return value


@dataclass(frozen=True)
class Project:
    path: Path
    spec: ProjectFile
    files: dict[str, str]  # relative path -> sha256

    @property
    def entries(self) -> list[tuple[str, str]]:
        """(relative path, kind) of each entry file, in order."""
        return [(e, KINDS[Path(e).suffix.lower()]) for e in self.spec.entry]


def _parse(path: Path) -> ProjectFile:
    """project.yaml through the one YAML reader (size, UTF-8, nesting, aliases, duplicate keys
    refused with their line), then the model; every error names the file and line."""
    from kluis.yamlfile import read_yaml

    try:
        doc = read_yaml(path, what="project.yaml")
    except BadInput as exc:
        raise ProjectError(str(exc)) from None
    try:
        return ProjectFile.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = doc.line(loc) or 1
        field = ".".join(str(x) for x in loc) or "(file)"
        raise ProjectError(f"{path}:{line}: {field}: {first['msg']}") from None


def _walk(root: Path) -> list[Path]:
    """Every file of the project (hidden files and __pycache__ skipped); links refused."""
    out: list[Path] = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if _SKIP.search(rel):
            continue
        if p.is_symlink():
            raise ProjectError(f"{p}: links are not allowed in a project (copy the file in)")
        if p.is_file():
            out.append(p)
    return out


def load_project(path: Path | str) -> Project:
    """Read and check a project folder; hash every file."""
    root = Path(path)
    if not root.is_dir():
        raise ProjectError(f"{root}: no such project folder")
    files = _walk(root)  # links refused before any file is read, project.yaml included
    spec = _parse(root / PROJECT_FILE)
    if len(files) > MAX_FILES:
        raise ProjectError(f"{root}: {len(files)} files; a project holds at most {MAX_FILES}")
    total = sum(p.stat().st_size for p in files)
    if total > MAX_BYTES:
        raise ProjectError(f"{root}: {total:,} bytes; a project holds at most {MAX_BYTES:,}")
    hashes = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }
    for e in spec.entry:
        if e not in hashes:
            raise ProjectError(f"{root / PROJECT_FILE}: entry {e!r} is not a file of the project")
    return Project(path=root, spec=spec, files=hashes)


def copy_project(project: Project, target: Path) -> None:
    """Copy the hashed files to `target` and check that the copy still has those hashes (a
    file changed while it was being read is refused rather than recorded wrongly)."""
    for rel, digest in project.files.items():
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        src = project.path / rel
        if src.is_symlink():
            raise ProjectError(f"{src}: became a link while the run started")
        shutil.copyfile(src, dst, follow_symlinks=False)
        if hashlib.sha256(dst.read_bytes()).hexdigest() != digest:
            raise ProjectError(f"{src}: changed while the run started; run again")
        dst.chmod(0o444)
