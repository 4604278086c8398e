"""`kluis audit verify`: check the whole log and name the first break and its kind.

What is checked, in order (docs/audit.md says what each catches and what none can):
1. every line is a complete audit record whose hash matches its content (else: torn, damaged,
   a blank line inserted, or changed);
2. records are numbered 0, 1, 2, ... and each names the hash of the one before (else: removed,
   inserted, reordered, or changed with its hash recomputed);
3. every checkpoint certifies the hash the chain has at that record (else: the chain was
   recomputed after an edit) and is signed by the steward's key (else: bad signature);
4. the log ends where the head file beside it says kluis last wrote (else: cut, or records
   kluis did not write appended);
5. every head kept elsewhere (in extracts, release bundles, destruction certificates, or
   `--against PATH`) is signed by the steward's key and matches the log (else: rolled back to an
   older copy, or rewritten);
6. a log with no signed checkpoint while the steward's signing key exists was emptied, deleted
   or replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kluis.audit import headfile
from kluis.audit.heads import Head, head_message
from kluis.audit.log import AuditLog
from kluis.audit.record import GENESIS, AuditError, checkpoint_message, intact, parse_line


@dataclass
class Report:
    """What a sound log showed."""

    path: Path
    records: int = 0
    checkpoints: int = 0
    signed: int = 0
    signers: set[str] = field(default_factory=set)
    last_signed_line: int | None = None
    last_signed_seq: int = -1
    heads: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    number: int
    seq: int | None
    prev: str | None
    hash: str | None


def _index(log: AuditLog) -> list[_Line]:
    """Every line's numbering (error path only: a second pass to say what kind of break)."""
    out = []
    for number, raw in log.lines():
        try:
            rec = parse_line(raw.rstrip(b"\n"))
            out.append(_Line(number, rec["seq"], rec["prev"], rec["hash"]))
        except ValueError:
            out.append(_Line(number, None, None, None))
    return out


def _fail(log: AuditLog, line: int | None, kind: str, what: str) -> AuditError:
    where = f"{log.path}:{line}" if line is not None else str(log.path)
    return AuditError(f"audit log {where}: {kind}: {what}", kind=kind, line=line)


def _chain_break(
    log: AuditLog, number: int, rec: dict, expected: int, prev: str, prev_prev: str
) -> AuditError:
    """Name the kind of break at line `number`, where record `rec` should have been record
    `expected` following hash `prev`."""
    seq = rec["seq"]
    if seq == expected:
        return _fail(
            log,
            number - 1,
            "changed",
            f"record {seq} (line {number}) does not follow record {seq - 1} (line {number - 1}): "
            f"record {seq - 1} was changed and its hash recomputed",
        )
    index = _index(log)
    later = [ln for ln in index if ln.number > number]
    if seq > expected:
        home = next((ln.number for ln in later if ln.seq == expected), None)
        if home is not None:
            return _fail(
                log,
                number,
                "reordered",
                f"record {seq} stands where record {expected} belongs (record {expected} is "
                f"on line {home}): records were moved",
            )
        missing = f"record {expected}" if seq == expected + 1 else f"records {expected}..{seq - 1}"
        return _fail(log, number, "removed", f"{missing} missing before this line")
    # seq < expected: this record or the one before it does not belong here
    after = next((ln for ln in later if ln.number == number + 1), None)
    if rec["prev"] == prev_prev:
        # two records claim the same predecessor: the one the chain does not continue from
        # was inserted
        inserted = number if after is not None and after.prev == prev else number - 1
        return _fail(
            log,
            inserted,
            "inserted",
            f"lines {number - 1} and {number} both follow record {seq - 1}: line {inserted} "
            "was inserted",
        )
    first = next((ln.number for ln in index if ln.seq == seq), number)
    return _fail(
        log,
        number,
        "inserted",
        f"record {seq} appears again (first on line {first}): this line was inserted",
    )


def _check_checkpoint(
    log: AuditLog,
    number: int,
    rec: dict,
    hashes: list[str],
    public_key: object | None,
    report: Report,
) -> None:
    from kluis.access.signing import public_fingerprint, verify_b64

    d = rec["details"]
    seq, hash_ = d.get("seq"), d.get("hash")
    if type(seq) is not int or not 0 <= seq < rec["seq"] or not isinstance(hash_, str):
        raise _fail(log, number, "damaged", "checkpoint does not name a record it certifies")
    report.checkpoints += 1
    if hashes[seq] != hash_:
        since = report.last_signed_seq + 1
        raise _fail(
            log,
            seq + 1,
            "changed",
            f"the checkpoint on line {number} certifies record {seq} as {hash_[:12]}…, but the "
            f"log has {hashes[seq][:12]}… there: a record from line {since + 1} to line "
            f"{seq + 1} was changed (or one inserted or removed) and the chain recomputed",
        )
    if d.get("signature") is None:
        return
    if public_key is None:
        raise _fail(
            log,
            number,
            "bad signature",
            "this checkpoint is signed but there is no steward public key to check it "
            "(signing.pub in the key store, or --public-key FILE)",
        )
    if not verify_b64(public_key, d.get("signature"), checkpoint_message(seq, hash_)):  # type: ignore[arg-type]
        raise _fail(
            log,
            number,
            "bad signature",
            f"the checkpoint's signature does not verify with the steward's key "
            f"{public_fingerprint(public_key)} (it names key {d.get('signer')})",  # type: ignore[arg-type]
        )
    report.signed += 1
    report.signers.add(str(d.get("signer")))
    report.last_signed_line = number
    report.last_signed_seq = seq


def _scan(log: AuditLog, public_key: object | None, report: Report) -> list[str]:
    """Steps 1-3; returns the hash of every record by seq."""
    hashes: list[str] = []
    prev, prev_prev = GENESIS, GENESIS
    for number, raw in log.lines():
        if not raw.endswith(b"\n"):
            raise _fail(log, number, "torn", "the last line is incomplete (a torn write)")
        try:
            rec = parse_line(raw[:-1])
        except ValueError as exc:
            if str(exc) == "blank line":
                raise _fail(log, number, "inserted", "a blank line was inserted") from None
            raise _fail(log, number, "damaged", f"not an audit record: {exc}") from None
        if not intact(rec, raw[:-1]):
            if not intact(rec):
                raise _fail(
                    log,
                    number,
                    "changed",
                    f"record {rec['seq']} was changed after it was written (its hash does not "
                    "match its content)",
                )
            raise _fail(
                log,
                number,
                "changed",
                f"record {rec['seq']} is not written as kluis writes it (reformatted or keys "
                "repeated): the line was rewritten",
            )
        if rec["seq"] != len(hashes) or rec["prev"] != prev:
            raise _chain_break(log, number, rec, len(hashes), prev, prev_prev)
        hashes.append(rec["hash"])
        prev_prev, prev = prev, rec["hash"]
        if rec["event"] == "checkpoint":
            _check_checkpoint(log, number, rec, hashes, public_key, report)
    report.records = len(hashes)
    return hashes


def _check_head_file(log: AuditLog, hashes: list[str]) -> bool:
    """Step 4. True when the head file agrees with the log (so a shorter log than a head
    elsewhere is a rollback of both, not a cut of the log alone)."""
    state = headfile.read(log.path)
    ends = len(hashes) - 1
    pos = None if not hashes else headfile.Position(ends, hashes[-1])
    if state is None:
        if hashes:
            raise _fail(
                log,
                None,
                "damaged",
                f"the head file {headfile.head_path(log.path).name} is missing (the log has "
                f"{len(hashes)} records); rebuild it with `kluis audit repair` once the log is "
                "known to be sound",
            )
        return False
    if pos == state.last or (state.pending is not None and pos == state.pending):
        return True
    wrote = -1 if state.last is None else state.last.seq
    if ends < wrote:
        raise _fail(
            log,
            ends + 2,
            "cut",
            f"the log ends at record {ends} but kluis last wrote record {wrote} (head file): "
            f"records {ends + 1}..{wrote} were cut",
        )
    if ends > wrote:
        raise _fail(
            log,
            wrote + 2,
            "inserted",
            f"records {wrote + 1}..{ends} were appended by something other than kluis (it last "
            f"wrote record {wrote})",
        )
    raise _fail(log, ends + 1, "changed", "the last record is not the one kluis wrote")


def _check_heads(
    log: AuditLog,
    hashes: list[str],
    heads: Iterable[Head],
    public_key: object | None,
    head_file_agrees: bool,
    report: Report,
) -> None:
    """Step 5."""
    from kluis.access.signing import verify_b64

    first = hashes[0] if hashes else None
    for head in heads:
        if head.log != str(log.path) and not head.explicit:
            report.notes.append(f"skipped {head.source}: a head of another log ({head.log})")
            continue
        if head.signature is not None:
            if public_key is None:
                raise _fail(
                    log,
                    None,
                    "bad signature",
                    f"{head.source} is signed but there is no steward public key to check it",
                )
            if not verify_b64(public_key, head.signature, head_message(head)):  # type: ignore[arg-type]
                raise _fail(
                    log,
                    None,
                    "bad signature",
                    f"{head.source}: its signature does not verify with the steward's key (it "
                    f"names key {head.signer})",
                )
        if head.first is not None and first is not None and head.first != first:
            raise _fail(
                log,
                1,
                "changed",
                f"the log was replaced: {head.source} certifies a log whose first record is "
                f"{head.first[:12]}…, this log starts with {first[:12]}…",
            )
        if head.seq >= len(hashes):
            kind = "rolled back" if head_file_agrees or not hashes else "cut"
            raise _fail(
                log,
                len(hashes) + 1,
                kind,
                f"{head.source} ({head.time}) certifies record {head.seq}, but the log ends at "
                f"record {len(hashes) - 1}: "
                + (
                    "an older copy of the log was put back"
                    if kind == "rolled back"
                    else "its last records were cut"
                ),
            )
        if hashes[head.seq] != head.hash and _written_after(log, head):
            raise _fail(
                log,
                head.seq + 1,
                "rolled back",
                f"{head.source} ({head.time}) certifies record {head.seq} as "
                f"{head.hash[:12]}…, but the log has a record written after that there: an "
                "older copy of the log was put back and written on since",
            )
        if hashes[head.seq] != head.hash:
            raise _fail(
                log,
                head.seq + 1,
                "changed",
                f"{head.source} certifies record {head.seq} as {head.hash[:12]}…, the log has "
                f"{hashes[head.seq][:12]}…: records up to line {head.seq + 1} were rewritten",
            )
        report.heads += 1


def _written_after(log: AuditLog, head: Head) -> bool:
    """Whether the log's record at the head's position is younger than the head (error path:
    reads the file)."""
    for number, raw in log.lines():
        if number == head.seq + 1:
            try:
                return str(parse_line(raw.rstrip(b"\n"))["time"]) > head.time
            except ValueError:
                return False
    return False


def verify_log(
    path: Path | str,
    *,
    public_key: object | None = None,
    heads: Iterable[Head] = (),
    signing_key_exists: bool | None = None,
) -> Report:
    """Check the log at `path` (steps 1-6). Raises AuditError naming the first break.

    `public_key`: the steward's Ed25519 public key (None: signatures cannot be checked, and a
    signed checkpoint is then a failure). `heads`: heads kept elsewhere (see
    kluis.audit.heads.known_heads). `signing_key_exists`: whether a steward signing key has
    been created (default: whether `public_key` was given)."""
    log = AuditLog(Path(path))
    report = Report(path=log.path)
    hashes = _scan(log, public_key, report)
    agrees = _check_head_file(log, hashes)
    _check_heads(log, hashes, heads, public_key, agrees, report)
    exists = public_key is not None if signing_key_exists is None else signing_key_exists
    if exists and report.signed == 0:
        if not hashes:
            raise _fail(
                log,
                None,
                "cut",
                "the log is empty or missing, but the steward's signing key exists (and its "
                "creation was logged): the log was emptied, deleted or replaced",
            )
        raise _fail(
            log,
            None,
            "removed",
            "the log has no signed checkpoint although the steward's signing key exists: "
            "its checkpoints were removed or the log was replaced",
        )
    after = report.records - (report.last_signed_line or 0) if report.signed else 0
    if report.signed and after > 0:
        report.notes.append(
            f"{after} record(s) after the last signed checkpoint (line "
            f"{report.last_signed_line}) are protected by the chain and the head file only"
        )
    return report
