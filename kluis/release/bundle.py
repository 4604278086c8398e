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
import hashlib
import json
import secrets
import shutil
from pathlib import Path

from kluis.access import User, Users
from kluis.atomic import locked, publish_dir, remove_stale, staging_dir, write_text
from kluis.enclave.request import load_request, resolve
from kluis.errors import BadInput, Refused
from kluis.pseudonym.signing import SigningKey, public_pem
from kluis.release.history import add_to_history, check_records, recording
from kluis.review import trail
from kluis.review.decisions import Decision, ReleaseRecord, append_record, decisions_path
from kluis.review.store import OutputState, ReviewRequest, open_request, sha256_file

RELEASE_FILE = "release.json"
JOURNAL = ".release-journal.json"
SIGNATURE_FILE = "release.sig"
FORMAT = 1


class ReleaseRefused(Refused):
    """The request cannot be released (names the output and the reason)."""


def _check_approval(rr: ReviewRequest, st: OutputState, d: Decision) -> None:
    """An approval counts only if the audit log holds it and nothing changed since."""
    name = st.output.name
    entry = trail.find(d.audit) if d.audit else None
    details = (entry or {}).get("details", {})
    expected = {"request": rr.id, "output": name, "verdict": "approve", "decision": d.id}
    if (
        entry is None
        or entry.get("action") != "review.decision"
        or entry.get("actor") != d.checker
        or trail.role_of(entry) != "checker"
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
    now = Users().get(d.checker)  # roles come from users.yaml, as it is now
    if now is None or now.role != "checker":
        raise ReleaseRefused(
            f"{name}: approved by {d.checker}, who is no longer a checker in {Users().path}"
        )
    if rr.involves(now):
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
    if rr.problems:  # first: nothing else this request says can be trusted
        raise ReleaseRefused(f"request {rr.id}: {'; '.join(rr.problems)}")
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
    for st in approved:
        if st.problems:
            raise ReleaseRefused(f"{st.output.name}: {'; '.join(st.problems)}")
        checkers = {d.checker for d in st.approvals}
        if len(checkers) < st.needed:
            raise ReleaseRefused(f"{st.output.name}: needs {st.needed} distinct checkers")
        for d in st.approvals:
            _check_approval(rr, st, d)
    check_records(rr, [st.output.name for st in approved])
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


class _Journal:
    """`.release-journal.json` in the request: what a release run has done so far, so that a
    run killed at any moment is finished by the next (history records are not added twice; a
    bundle published but not yet recorded is recorded, not made again)."""

    def __init__(self, request_dir: Path) -> None:
        from kluis.jsonfile import JsonFileError, read_json

        self.path = request_dir / JOURNAL
        self.state: dict = {"history": {}}
        if not self.path.exists() and not self.path.is_symlink():
            return
        try:
            state = read_json(self.path)
        except JsonFileError as exc:
            raise self._damaged(str(exc)) from None
        shapes = {"target": str, "bundle": str, "release_sha256": str, "history": dict}
        shapes["pending"] = dict
        if not isinstance(state, dict):
            raise self._damaged(f"{self.path}: not a JSON object")
        for key, kind in shapes.items():
            if key in state and not isinstance(state[key], kind):
                raise self._damaged(f"{self.path}: {key} is not a {kind.__name__}")
        for key, kind in (("history", str), ("pending", dict)):
            if not all(isinstance(v, kind) for v in state.get(key, {}).values()):
                raise self._damaged(f"{self.path}: an entry of {key} is not a {kind.__name__}")
        self.state = state
        self.state.setdefault("history", {})

    def _damaged(self, what: str) -> ReleaseRefused:
        """A journal kluis did not write this way (it is written atomically, so no crash
        leaves it so): what an interrupted release did cannot be known; nothing is guessed."""
        return ReleaseRefused(
            f"{what}: the journal of an interrupted release ({JOURNAL}) is damaged; whether a "
            "bundle was published and its tables recorded in the history cannot be known: "
            "check the audit log (`kluis audit show --action release`) and the history, then "
            "move the journal away"
        )

    def save(self, **changes: object) -> None:
        self.state.update(changes)
        write_text(self.path, json.dumps(self.state, indent=1, sort_keys=True) + "\n", mode=0o600)

    def adding(self, output: str, digest: str, before: list[str]) -> None:
        self.state.setdefault("pending", {})[output] = {"digest": digest, "before": before}
        self.save()

    def added(self, output: str, entry: Path) -> None:
        self.state["history"][output] = str(entry)
        self.state.setdefault("pending", {}).pop(output, None)
        self.save()

    def published_bundle(self) -> Path | None:
        """The bundle an interrupted run published, when it is there and unchanged."""
        bundle = self.state.get("bundle")
        if not bundle:  # its manifest hash was saved before publishing: a match is ours
            return None
        manifest = Path(bundle) / RELEASE_FILE
        if manifest.is_file() and sha256_file(manifest) == self.state.get("release_sha256"):
            return Path(bundle)
        return None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _record(rr: ReviewRequest, out: Path, history: list[str]) -> None:
    """The release in the audit log, the request's decisions file and the catalogue."""
    from kluis.audit.catalogue import register

    manifest = json.loads((out / RELEASE_FILE).read_text(encoding="utf-8"))
    digest = sha256_file(out / RELEASE_FILE)
    names = [o["name"] for o in manifest["outputs"]]
    by = manifest["released_by"]
    audit_hash = trail.append(
        "release",
        actor=by["name"],
        role=by["role"],
        deliberation=rr.request.deliberation,
        request=rr.id,
        request_sha256=rr.sha256,
        bundle=str(out),
        release_sha256=digest,
        outputs=names,
        history=history,
    )
    append_record(
        rr.path,
        ReleaseRecord(
            id=manifest["id"],
            time=manifest["time"],
            request=rr.id,
            by=by["name"],
            bundle=str(out),
            release_sha256=digest,
            outputs=names,
            audit=audit_hash,
        ),
    )
    register(
        "release",
        out,
        deliberation=rr.request.deliberation,
        retention=None,  # anonymous results: kept after the deliberation's retention date
        request=rr.id,
        release_sha256=digest,
        outputs=names,
    )


def release_request(request_dir: Path | str, out: Path | str, user: User, key: SigningKey) -> Path:
    """Write the bundle of `request_dir`'s approved outputs to `out`; returns the bundle (the
    one an interrupted earlier run published, when there is one: it is recorded, not made
    again)."""
    request_dir, out = Path(request_dir), Path(out).absolute()
    load_request(request_dir)  # a clear error (and nothing created) when it is no request
    with locked(decisions_path(request_dir)):
        journal = _Journal(request_dir)
        if journal.state.get("target"):  # a killed run's half-built bundle
            remove_stale(Path(journal.state["target"]))
        finished = journal.published_bundle()
        if finished is not None:
            _record(open_request(request_dir), finished, list(journal.state["history"].values()))
            journal.remove()
            return finished
        if out.exists():
            raise BadInput(f"{out}: already exists; a bundle is never overwritten")
        rr = open_request(request_dir)
        approved = _approved(rr)
        staging = staging_dir(out)  # (removes this target's leftovers)
        journal.save(target=str(out))
        try:
            files = _copy(rr, approved, staging)
            head = trail.write_head(
                staging, f"release {rr.id}", deliberation=rr.request.deliberation, request=rr.id
            )
            manifest = _manifest(rr, approved, files, user, key)
            manifest["files"][head[0].name] = sha256_file(head[0])  # the log's signed head
            manifest["audit_head"] = head[1]
            data = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            manifest_bytes = data.encode("utf-8")
            (staging / RELEASE_FILE).write_bytes(manifest_bytes)
            (staging / SIGNATURE_FILE).write_bytes(sign(key, manifest_bytes))
            with recording(rr) as history:  # the history's lock, until the bundle is out
                # the history first: a table is never out without being recorded
                add_to_history(rr, [st.output.name for st in approved], journal, history)
                digest = hashlib.sha256(manifest_bytes).hexdigest()
                journal.save(bundle=str(out), release_sha256=digest)
                publish_dir(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _record(rr, out, list(journal.state["history"].values()))
        journal.remove()
    return out
