"""Audit log: appending stays fast on a long log; verifying it.

Figures:
- 100,000 appends through `AuditLog.append` (what every command does: open, lock, read the
  tail, check the head file, write one line, update the head file), in batches of 10,000, so a
  per-append time that grew with the log would show;
- appends flushed to disk (`sync=True`, each command's outcome) and signed checkpoints;
- `verify_log` over the 100,000 records;
- anchors measured in the same run: the floor (open, append one JSON line, close: no chain) and
  the previous kluis append (hash chain, reading the whole file per append) up to 10,000 records.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

N = 100_000
BATCH = 10_000
SYNCED = 1_000
OLD_N = 10_000


def _old_append(path: Path, action: str, **details: object) -> None:
    """The append kluis had before (reads the whole file each time), as the anchor."""
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        last = None
        for line in fh:
            if line.strip():
                last = line
        prev = json.loads(last)["hash"] if last else "0" * 64
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "actor": "bench",
            "action": action,
            "details": details,
            "prev": prev,
        }
        body = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        entry["hash"] = hashlib.sha256(body.encode()).hexdigest()
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def _floor(path: Path, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"action": "step", "n": i}) + "\n")
    return time.perf_counter() - start


def main() -> dict:
    from kluis.access.signing import create
    from kluis.audit.log import AuditLog
    from kluis.audit.verify import verify_log

    figures: dict = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = AuditLog(root / "audit.jsonl")
        ident = {"actor": "bench", "account": "bench", "role": "steward"}
        batches = []
        start = time.perf_counter()
        for b in range(N // BATCH):
            t = time.perf_counter()
            for i in range(BATCH):
                log.append("extract", deliberation="26/104", n=b * BATCH + i, **ident)
            batches.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        figures["appends"] = N
        figures["append_total_s"] = round(total, 2)
        figures["append_us_first_batch"] = round(batches[0] / BATCH * 1e6, 1)
        figures["append_us_last_batch"] = round(batches[-1] / BATCH * 1e6, 1)
        figures["log_bytes"] = log.path.stat().st_size

        t = time.perf_counter()
        for i in range(SYNCED):
            log.append("end", sync=True, n=i, **ident)
        figures["synced_append_ms"] = round((time.perf_counter() - t) / SYNCED * 1e3, 2)

        key = create(root / "keys")
        t = time.perf_counter()
        for _ in range(SYNCED):
            log.checkpoint(key, "bench")
        figures["signed_checkpoint_ms"] = round((time.perf_counter() - t) / SYNCED * 1e3, 2)

        t = time.perf_counter()
        report = verify_log(log.path, public_key=key.public)
        figures["verify_s"] = round(time.perf_counter() - t, 2)
        figures["verified_records"] = report.records

        figures["floor_plain_append_us"] = round(_floor(root / "floor.jsonl", N) / N * 1e6, 1)

        old = root / "old.jsonl"
        marks = {}
        t = time.perf_counter()
        for i in range(OLD_N):
            _old_append(old, "step", n=i)
            if i + 1 in (1_000, OLD_N):
                marks[i + 1] = time.perf_counter()
        figures["old_append_total_s_10k"] = round(time.perf_counter() - t, 2)
        last_batch = marks[OLD_N] - marks[1_000]
        figures["old_append_us_mean_1k_to_10k"] = round(last_batch / (OLD_N - 1_000) * 1e6, 1)
    print(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
