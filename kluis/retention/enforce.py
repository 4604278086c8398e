"""`kluis retention enforce`: destroy what must go, resumably, and certify it.

A run first writes its whole plan into a journal (`$KLUIS_HOME/retention/journal.json`): every
item with the hash of what it holds. Then it destroys the items one by one, marking each in
the journal; then it records the destruction in the audit log (a signed checkpoint) and
writes the signed certificate; then it removes the journal. A run killed at any moment leaves
the journal: the next run finishes that destruction before it plans anything new. Nothing is
destroyed before its date; released bundles are never destroyed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kluis.atomic import locked, write_text
from kluis.errors import Refused
from kluis.retention.plan import Item, Plan, plan
from kluis.retention.shred import destroy, tree_digest

JOURNAL = "journal.json"


def _journal_path() -> Path:
    from kluis.home import retention_dir

    return retention_dir() / JOURNAL


def _fault(point: str) -> None:
    """Test hook: `KLUIS_TEST_KILL_AT=<point>` kills this process with SIGKILL there, so the
    tests can show that a destruction killed half-way is finished by the next run."""
    if os.environ.get("KLUIS_TEST_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Outcome:
    resumed: bool
    certificate: Path | None
    destroyed: list[dict]
    kept: list[dict]
    deliberations: dict[str, str]


def _write_journal(journal: dict) -> None:
    from kluis.home import private_dir

    path = _journal_path()
    private_dir(path.parent)
    write_text(path, json.dumps(journal, indent=1, sort_keys=True) + "\n", mode=0o600)


def _key_fingerprint(path: Path) -> str | None:
    from kluis.pseudonym.keystore import fingerprint

    try:
        return fingerprint(bytes.fromhex(json.loads(path.read_text(encoding="utf-8"))["key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _targets(item: Item) -> list[tuple[str, Path]]:
    """What destroying `item` removes: the item, its killed runs' leftovers, its receipt."""
    from kluis.audit.heads import receipt_path

    out = [("item", item.path)] if item.exists else []
    out += [("leftover", p) for p in item.leftovers]
    receipt = receipt_path(item.path)
    if receipt.exists():
        out.append(("receipt", receipt))
    return out


def _journal_items(p: Plan) -> list[dict]:
    from kluis.audit.heads import read_head

    items = []
    for item in p.to_destroy:
        for role, path in _targets(item):
            entry: dict[str, Any] = {
                "kind": item.kind,
                "role": role,
                "path": str(path),
                "deliberation": item.deliberation,
                "catalogue": None if item.entry is None else str(item.entry.file),
                "evidence": tree_digest(path),
                "done": False,
            }
            if item.kind == "key" and role == "item":
                entry["fingerprint"] = _key_fingerprint(path)
            if role == "receipt":
                try:
                    entry["head"] = json.loads(path.read_text(encoding="utf-8"))
                    read_head(path)
                except (OSError, ValueError):
                    entry["head"] = None
            items.append(entry)
        if not _targets(item):  # already gone: still forget it in the catalogue
            items.append(
                {
                    "kind": item.kind,
                    "role": "absent",
                    "path": str(item.path),
                    "deliberation": item.deliberation,
                    "catalogue": None if item.entry is None else str(item.entry.file),
                    "evidence": None,
                    "done": False,
                }
            )
    return items


def _run(journal: dict) -> None:
    """Destroy every pending item of the journal, marking each as it goes."""
    for n, entry in enumerate(journal["items"], start=1):
        if entry["done"]:
            continue
        path = Path(entry["path"])
        if entry["role"] != "absent":
            overwrite = entry["kind"] == "key" or entry["role"] == "leftover"
            destroy(path, journal["id"], overwrite=overwrite)
        _fault(f"item-{n}-destroyed")
        if entry["catalogue"] and entry["role"] in ("item", "absent"):
            Path(entry["catalogue"]).unlink(missing_ok=True)
        entry["done"] = True
        _write_journal(journal)
        _fault(f"item-{n}-marked")


def _certify(journal: dict) -> Path:
    """Record the destruction in the log (signed checkpoint) and write the signed certificate."""
    from kluis.access.signing import load
    from kluis.audit.heads import publication_head
    from kluis.audit.record import canonical
    from kluis.home import certificates_dir, keystore_dir

    key = load(keystore_dir())
    destroyed = [
        {k: e.get(k) for k in ("kind", "role", "path", "deliberation", "evidence", "fingerprint")}
        for e in journal["items"]
        if e["role"] != "absent"
    ]
    numbers = sorted(journal["deliberations"])
    if journal.get("head") is None:
        journal["head"] = publication_head(
            f"destruction {', '.join(numbers)}",
            deliberation=numbers[0] if len(numbers) == 1 else None,
            deliberations=journal["deliberations"],
            today=journal["today"],
            destroyed=destroyed,
        )
        _write_journal(journal)
    _fault("logged")
    cert: dict[str, Any] = {
        "kluis_destruction_certificate": 1,
        "deliberations": journal["deliberations"],
        "as_of": journal["today"],
        "started": journal["started"],
        "finished": journal["head"]["time"],
        "by": journal["by"],
        "destroyed": destroyed,
        "kept": journal["kept"],
        "heads": [e["head"] for e in journal["items"] if e.get("head")],
        "head": journal["head"],
        "signer": key.fingerprint,
    }
    cert["signature"] = key.sign_b64(canonical(cert).encode("utf-8"))
    stamp = journal["started"].replace(":", "").replace("-", "").replace(".", "")
    name = f"destruction-{'_'.join(n.replace('/', '-') for n in numbers)}-{stamp}.json"
    from kluis.home import private_dir

    path = private_dir(certificates_dir()) / name
    write_text(path, json.dumps(cert, indent=1, sort_keys=True) + "\n", mode=0o644)
    return path


def _new_journal(p: Plan) -> dict:
    from kluis.access.identity import identify
    from kluis.audit.log import now

    actor, account, role = identify()
    return {
        "id": secrets.token_hex(6),
        "started": now(),
        "today": p.today.isoformat(),
        "by": {"actor": actor, "account": account, "role": role},
        "deliberations": dict(sorted(p.due.items())),
        "items": _journal_items(p),
        "kept": [
            {"kind": i.kind, "path": str(i.path), "deliberation": i.deliberation}
            for i in p.items
            if i.deliberation in p.due and not i.destroyed_at_retention
        ],
        "head": None,
    }


def _refuse_unreadable_catalogue() -> None:
    """A record retention cannot read may be an extract it would never destroy: a certificate
    saying the deliberation's data is gone would then be false. Nothing is destroyed until the
    steward fixes or removes it."""
    from kluis.audit.catalogue import problems

    found = problems()
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise Refused(
            f"{found[0]}{more}: a catalogue record retention cannot read; nothing is destroyed "
            "until it is fixed or removed (`kluis retention status` lists them)"
        )


def _refuse_foreign(p: Plan) -> None:
    """Nothing is destroyed while a due item does not look like what its record says it is
    (retention.marks): the record may have been edited to name something else."""
    from kluis.retention.marks import foreign

    found = [why for item in p.to_destroy if (why := foreign(item.kind, item.path))]
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise Refused(
            f"{found[0]}{more}: the catalogue names it, but kluis did not write it there; "
            "nothing is destroyed until the record is fixed or removed"
        )


_JOURNAL_SHAPE = {
    "id": str,
    "started": str,
    "today": str,
    "by": dict,
    "deliberations": dict,
    "items": list,
    "kept": list,
}
_ROLES = ("item", "leftover", "receipt", "absent")


def _journal_problem(journal: object) -> str | None:
    """What makes `journal` one kluis did not write, or None: its shape, and every path it
    would destroy or forget (a journal naming the home directory must not destroy it)."""
    from kluis.audit.catalogue import unsafe_path
    from kluis.home import catalogue_dir

    if not isinstance(journal, dict):
        return "not a JSON object"
    for key, kind in _JOURNAL_SHAPE.items():
        if not isinstance(journal.get(key), kind):
            return f"{key} is missing or not a {kind.__name__}"
    if journal.get("head") is not None and not isinstance(journal["head"], dict):
        return "head is not an object"
    for n, item in enumerate(journal["items"]):
        if not isinstance(item, dict) or item.get("role") not in _ROLES:
            return f"items[{n}] is not an item"
        if not isinstance(item.get("kind"), str) or not isinstance(item.get("done"), bool):
            return f"items[{n}]: kind or done missing"
        why = unsafe_path(item.get("path"))
        if why is not None:
            return f"items[{n}].path: {why}"
        record = item.get("catalogue")
        if record is not None and (
            not isinstance(record, str)
            or Path(record).absolute().parent != catalogue_dir().absolute()
        ):
            return f"items[{n}].catalogue is not a record of the catalogue"
    return None


def _read_journal(path: Path) -> dict:
    from kluis.jsonfile import JsonFileError, read_json

    try:
        journal = read_json(path)
        problem = _journal_problem(journal)
    except JsonFileError as exc:
        problem = str(exc)
    if problem is not None:
        raise Refused(
            f"{path}: the journal of an interrupted destruction cannot be used ({problem}); "
            "the destruction it describes may be half done: compare it with the audit log "
            "and the catalogue, then restore it or move it away"
        )
    return journal  # type: ignore[return-value]


def enforce(today: dt.date, deliberations: Path | None = None, *, dry_run: bool = False) -> Outcome:
    """Destroy everything due on `today` (finishing an interrupted run first)."""
    from kluis.access.signing import SigningKeyError, load
    from kluis.audit import note
    from kluis.home import keystore_dir

    journal_path = _journal_path()
    if dry_run:
        p = plan(today, deliberations)
        items = _journal_items(p)
        pending = journal_path.is_file()
        return Outcome(pending, None, items, [], dict(p.due))
    try:
        load(keystore_dir())
    except SigningKeyError as exc:
        raise Refused(
            f"a destruction needs the steward's signing key for its certificate: {exc}"
        ) from None
    from kluis.home import private_dir

    private_dir(journal_path.parent)
    with locked(journal_path):
        resumed = journal_path.exists() or journal_path.is_symlink()
        if resumed:
            journal = _read_journal(journal_path)
        else:
            _refuse_unreadable_catalogue()
            p = plan(today, deliberations)
            if not p.due:
                return Outcome(False, None, [], [], {})
            _refuse_foreign(p)
            journal = _new_journal(p)
            _write_journal(journal)
        for number in journal["deliberations"]:
            note(deliberation=number)
        _fault("planned")
        _run(journal)
        certificate = _certify(journal)
        _fault("certified")
        journal_path.unlink()
    note(wrote={"certificate": str(certificate)})
    return Outcome(
        resumed,
        certificate,
        [e for e in journal["items"] if e["role"] != "absent"],
        journal["kept"],
        journal["deliberations"],
    )
