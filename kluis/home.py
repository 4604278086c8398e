"""Where kluis keeps its own state: `$KLUIS_HOME` (default ``~/.kluis``).

One place decides every default path, so the key store, the audit log, the users, the catalogue
of everything written and the deliberation registry are found the same way by every command:

    $KLUIS_HOME/keys/            pseudonym keys, the steward's signing key ($KLUIS_KEYSTORE)
    $KLUIS_HOME/audit.jsonl      the audit log ($KLUIS_AUDIT_LOG)
    $KLUIS_HOME/users.yaml       users and roles ($KLUIS_USERS)
    $KLUIS_HOME/catalogue/       one record per thing kluis wrote (for retention)
    $KLUIS_HOME/deliberations/   the registry of deliberations in force ($KLUIS_DELIBERATIONS)
    $KLUIS_HOME/certificates/    signed destruction certificates
    $KLUIS_HOME/retention/       the journal of a destruction in progress
"""

from __future__ import annotations

import os
from pathlib import Path


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def home() -> Path:
    """`$KLUIS_HOME`, else ~/.kluis."""
    return _env_path("KLUIS_HOME") or Path.home() / ".kluis"


def keystore_dir() -> Path:
    """`$KLUIS_KEYSTORE`, else $KLUIS_HOME/keys."""
    return _env_path("KLUIS_KEYSTORE") or home() / "keys"


def audit_log_path() -> Path:
    """`$KLUIS_AUDIT_LOG`, else $KLUIS_HOME/audit.jsonl."""
    return _env_path("KLUIS_AUDIT_LOG") or home() / "audit.jsonl"


def users_path() -> Path:
    """`$KLUIS_USERS`, else $KLUIS_HOME/users.yaml."""
    return _env_path("KLUIS_USERS") or home() / "users.yaml"


def catalogue_dir() -> Path:
    """$KLUIS_HOME/catalogue: one JSON record per warehouse, extract, request or bundle."""
    return home() / "catalogue"


def deliberations_dir() -> Path:
    """`$KLUIS_DELIBERATIONS`, else $KLUIS_HOME/deliberations: the registry of deliberations,
    so an installed kluis knows which deliberation ends which."""
    return _env_path("KLUIS_DELIBERATIONS") or home() / "deliberations"


def certificates_dir() -> Path:
    """$KLUIS_HOME/certificates: the signed destruction certificates (kept for ever)."""
    return home() / "certificates"


def retention_dir() -> Path:
    """$KLUIS_HOME/retention: the journal of a destruction in progress (resumed if killed)."""
    return home() / "retention"


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parent with mode 0700 (kluis state is its owner's only;
    `mkdir(parents=True, mode=...)` would give the parents the default mode)."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
    return path
