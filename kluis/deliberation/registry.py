"""The registry: the deliberations this installation knows, and so which deliberation ends which.

WHY: a deliberation stops authorising on the day another one that ends it takes effect. kluis can
only know that from the other deliberations, so they are kept in one configured directory,
`$KLUIS_DELIBERATIONS` (default `$KLUIS_HOME/deliberations`, see kluis.home) or `--deliberations
DIR`, never next to the source code (an installed package has none there, and the check would
silently pass). Every check of "in force" reads it and fails closed: a missing directory, an
unreadable or invalid file, or a number registered twice refuses the extract.

`kluis deliberation register FILE` puts a checked file into the registry.
"""

from __future__ import annotations

import os
from pathlib import Path

from kluis import atomic
from kluis.deliberation.errors import DeliberationError, Problem
from kluis.deliberation.load import load
from kluis.deliberation.model import Deliberation
from kluis.errors import BadInput, Refused
from kluis.home import deliberations_dir

_HOW = (
    "register the deliberations in force with `kluis deliberation register FILE`, or name the "
    "directory with --deliberations DIR ($KLUIS_DELIBERATIONS)"
)


class RegistryError(BadInput):
    """The registry cannot be read, so whether a deliberation is in force cannot be known."""


def registry_dir(directory: Path | str | None = None) -> Path:
    """`directory`, else $KLUIS_DELIBERATIONS, else $KLUIS_HOME/deliberations."""
    return Path(directory) if directory is not None else deliberations_dir()


def file_name(number: str) -> str:
    """'26/104' -> '26-104.yaml'."""
    return f"{number.replace('/', '-')}.yaml"


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise RegistryError(f"deliberation registry {directory} {what}: {_HOW}")
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise RegistryError(
            f"deliberation registry {directory}: cannot read: {exc.strerror}"
        ) from None
    return [directory / n for n in names if n.endswith((".yaml", ".yml"))]


def load_registry(directory: Path | str | None = None) -> dict[str, Deliberation]:
    """Every deliberation in the registry, by number; refuses (RegistryError, or
    DeliberationError naming the file and line) when any of it cannot be used."""
    root = registry_dir(directory)
    out: dict[str, Deliberation] = {}
    for file in _files(root):
        d = load(file)
        if d.number in out:
            raise DeliberationError(
                [Problem(str(file), None, "number", f"deliberation {d.number} is registered twice")]
            )
        out[d.number] = d
    return out


def load_dir(directory: Path | str | None = None) -> dict[str, Deliberation]:
    """Alias of `load_registry` (the name earlier code used)."""
    return load_registry(directory)


def find(number: str, directory: Path | str | None = None) -> Path:
    """The registered file of deliberation `number`."""
    path = registry_dir(directory) / file_name(number)
    if not path.is_file():
        raise RegistryError(f"deliberation {number} is not registered (no {path}): {_HOW}")
    return path


def register(
    path: Path | str, directory: Path | str | None = None, *, replace: bool = False
) -> tuple[Deliberation, Path, bool]:
    """Check the file at `path` and copy it into the registry (atomically). Refuses to change a
    registered deliberation unless `replace`. Returns (deliberation, registered file, changed)."""
    path = Path(path)
    d = load(path)  # every check, or DeliberationError with file and line
    root = registry_dir(directory)
    if root.exists() and not root.is_dir():
        raise RegistryError(f"deliberation registry {root} is not a directory")
    target = root / file_name(d.number)
    data = path.read_bytes()
    with atomic.locked(target):
        if target.is_file():
            if target.read_bytes() == data:
                return d, target, False
            if not replace:
                raise Refused(
                    f"deliberation {d.number} is already registered ({target}) with another "
                    "text; pass --replace to replace it"
                )
        atomic.write_bytes(target, data, mode=0o644)
    return d, target, True
