"""Build a signed release bundle from the approved outputs of one output request.

    BUNDLE/
      release.json      every file with its sha256, the request and its hash, the code hashes,
                        the extract's manifest hash, the deliberation and rules, the checkers
                        and their decisions, the time, the audit log's head
      release.sig       Ed25519 signature of release.json's bytes by the steward's release key
      outputs/...       the approved outputs, byte for byte as the checkers saw them

Only outputs whose state is `approved` enter; every approval is checked again here (against
the audit log, the request's hash and the files' hashes at the time of the decision), so a
decision typed into decisions.jsonl, a file changed after it was approved, or a rejected or
unreviewed output never leaves. The bundle is built in a hidden temporary and put in place in
one step; the history records are added before it appears, the release is recorded after.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
from pathlib import Path

from kluis.access import User
from kluis.atomic import locked, publish_dir, remove_stale, staging_dir
from kluis.enclave.request import load_request, resolve
from kluis.errors import BadInput, Refused
from kluis.pseudonym.signing import SigningKey, public_pem
from kluis.release.history import add_to_history
from kluis.review import trail
from kluis.review.decisions import Decision, ReleaseRecord, append_record, decisions_path
from kluis.review.store import OutputState, ReviewRequest, open_request, sha256_file

RELEASE_FILE = "release.json"
SIGNATURE_FILE = "release.sig"
FORMAT = 1


class ReleaseRefused(Refused):
    """The request cannot be released (names the output and the reason)."""


def _check_approval(rr: ReviewRequest, st: OutputState, d: Decision) -> None:
    """An approval counts only if the audit log holds it and nothing changed since."""
    name = st.output.name
    entry = trail.find(d.audit) if d.audit else None
    details = (entry or {}).get("details", {})
    expected = {
        "request": rr.id,
        "output": name,
        "verdict": "approve",
        "decision": d.id,
        "role": "checker",
    }
    if (
        entry is None
        or entry.get("action") != "review.decision"
        or entry.get("actor") != d.checker
        or any(details.get(k) != v for k, v in expected.items())
    ):
        raise ReleaseRefused(
            f"{name}: the approval by {d.checker} ({d.id}) is not in the audit log: "
            "decisions.jsonl was edited by hand"
        )
    if d.request_sha256 != rr.sha256:
        raise ReleaseRefused(f"{name}: request.json changed after {d.checker} approved it")
    if d.files != st.releasable:
        raise ReleaseRefused(f"{name}: its files changed after {d.checker} approved them")
    if d.checker in {rr.request.run_by, *rr.request.researchers}:
        raise ReleaseRefused(f"{name}: approved by {d.checker}, who is one of its researchers")


def _check_complete(rr: ReviewRequest) -> None:
    """Every decision the audit log holds for this request is in decisions.jsonl: a file cut
    or rolled back (to drop a rejection) does not release."""
    have = {d.id for d in rr.decisions}
    missing = [
        e for e in trail.decisions_for(rr.id, rr.sha256) if e["details"].get("decision") not in have
    ]
    if missing:
        first = missing[0]["details"]
        raise ReleaseRefused(
            f"request {rr.id}: decisions.jsonl lacks {len(missing)} decision(s) the audit log "
            f"holds (first: {first.get('verdict')} of {first.get('output')} by "
            f"{missing[0].get('actor')}): the file was cut or rolled back"
        )


def _approved(rr: ReviewRequest) -> list[OutputState]:
    _check_complete(rr)
    if rr.releases:
        raise ReleaseRefused(f"request {rr.id} was already released to {rr.releases[0].bundle}")
    pending = [n for n, s in rr.states.items() if s.state in ("waiting", "partly approved")]
    if pending:
        raise ReleaseRefused(
            f"request {rr.id}: {len(pending)} output(s) not decided yet: {', '.join(pending)}"
        )
    approved = [s for s in rr.states.values() if s.state == "approved"]
    if not approved:
        raise ReleaseRefused(f"request {rr.id}: no output is approved; nothing may leave")
    if rr.code_problems:
        raise ReleaseRefused(f"request {rr.id}: {'; '.join(rr.code_problems)}")
    for st in approved:
        if st.problems:
            raise ReleaseRefused(f"{st.output.name}: {'; '.join(st.problems)}")
        checkers = {d.checker for d in st.approvals}
        if len(checkers) < st.needed:
            raise ReleaseRefused(f"{st.output.name}: needs {st.needed} distinct checkers")
        for d in st.approvals:
            _check_approval(rr, st, d)
    return approved


def _copy(
    rr: ReviewRequest, approved: list[OutputState], staging: Path
) -> dict[str, dict[str, str]]:
    """Copy every file that may leave; returns output -> {bundle path: sha256}, each hash
    checked on the copy."""
    root = staging.resolve()
    out: dict[str, dict[str, str]] = {}
    for st in approved:
        files = out.setdefault(st.output.name, {})
        for rel, digest in sorted(st.releasable.items()):
            source = resolve(rr.path, rel)
            target = resolve(staging, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            if sha256_file(target) != digest:
                raise ReleaseRefused(f"{rel}: changed while it was being released")
            files[target.relative_to(root).as_posix()] = digest
    return out


def _manifest(
    rr: ReviewRequest,
    approved: list[OutputState],
    files: dict[str, dict[str, str]],
    user: User,
    key: SigningKey,
) -> dict:
    q = rr.request
    return {
        "format": FORMAT,
        "id": f"{q.id}-{secrets.token_hex(4)}",
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "released_by": {"name": user.name, "role": user.role},
        "deliberation": q.deliberation,
        "project": q.project,
        "phase": q.phase,
        "request": {
            "id": q.id,
            "sha256": rr.sha256,
            "created": q.created,
            "run_by": q.run_by,
            "researchers": list(q.researchers),
        },
        "code": dict(q.code),
        "extract": {"manifest_sha256": q.extract.manifest_sha256, "phase": q.extract.phase},
        "rules": q.rules,
        "rule_version": str(q.rules.get("version", "")),
        "approvals_needed": rr.needed,
        "outputs": [
            {
                "name": st.output.name,
                "kind": st.output.kind,
                "enclave_status": st.output.status,
                "files": files[st.output.name],
                "decisions": [
                    {
                        "checker": d.checker,
                        "verdict": d.verdict,
                        "comment": d.comment,
                        "time": d.time,
                        "decision": d.id,
                        "audit": d.audit,
                    }
                    for d in st.approvals
                ],
            }
            for st in approved
        ],
        "checkers": sorted({d.checker for st in approved for d in st.approvals}),
        "not_released": [
            {"name": s.output.name, "state": s.state}
            for s in rr.states.values()
            if s.state != "approved"
        ],
        "files": {rel: digest for per in files.values() for rel, digest in per.items()},
        "audit_head": trail.head(),
        "signing_key": key.fingerprint,
    }


def sign(key: SigningKey, manifest_bytes: bytes) -> bytes:
    """release.sig: the signature and the public key that made it (so a verifier can say
    'signed by another key' rather than only 'does not verify')."""
    sig = {
        "algorithm": "Ed25519",
        "fingerprint": key.fingerprint,
        "public_key": public_pem(key.public).decode(),
        "signature": base64.b64encode(key.sign(manifest_bytes)).decode(),
    }
    return (json.dumps(sig, indent=1, sort_keys=True) + "\n").encode()


def release_request(request_dir: Path | str, out: Path | str, user: User, key: SigningKey) -> Path:
    """Write the bundle of `request_dir`'s approved outputs to `out`; returns `out`."""
    request_dir, out = Path(request_dir), Path(out).absolute()
    if out.exists():
        raise BadInput(f"{out}: already exists; a bundle is never overwritten")
    load_request(request_dir)  # a clear error (and nothing created) when it is no request
    with locked(decisions_path(request_dir)):
        rr = open_request(request_dir)
        approved = _approved(rr)
        remove_stale(out)
        staging = staging_dir(out)
        try:
            files = _copy(rr, approved, staging)
            manifest = _manifest(rr, approved, files, user, key)
            data = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            manifest_bytes = data.encode("utf-8")
            (staging / RELEASE_FILE).write_bytes(manifest_bytes)
            (staging / SIGNATURE_FILE).write_bytes(sign(key, manifest_bytes))
            names = [st.output.name for st in approved]
            history = add_to_history(rr, names)
            if out.exists():
                raise BadInput(f"{out}: appeared while the bundle was built; not overwritten")
            publish_dir(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        digest = sha256_file(out / RELEASE_FILE)
        audit_hash = trail.append(
            "release",
            actor=user.name,
            role=user.role,
            deliberation=rr.request.deliberation,
            request=rr.id,
            request_sha256=rr.sha256,
            bundle=str(out),
            release_sha256=digest,
            outputs=names,
            history=[str(h) for h in history],
        )
        append_record(
            request_dir,
            ReleaseRecord(
                id=manifest["id"],
                time=manifest["time"],
                request=rr.id,
                by=user.name,
                bundle=str(out),
                release_sha256=digest,
                outputs=names,
                audit=audit_hash,
            ),
        )
    from kluis.audit.catalogue import register

    register(
        "release",
        out,
        deliberation=rr.request.deliberation,
        retention=None,  # anonymous results: kept after the deliberation's retention date
        request=rr.id,
        release_sha256=digest,
        outputs=names,
    )
    return out
