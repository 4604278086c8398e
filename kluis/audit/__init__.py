"""Tamper-evident, append-only log of every action (uses no stage of kluis).

For other parts of kluis:
- `note(deliberation=..., read={path: sha256}, wrote={path: sha256})`: add to the record of
  the running CLI command;
- `write_head(staging_dir, label, deliberation=...)`: record a publication, checkpoint it with
  the steward's signature, and write `audit-head.json` into what is being published;
- `record_event(action, actor=, role=, ...)`: an action outside the CLI (the review app);
- `kluis.audit.catalogue.register(...)`: everything retention must find.
"""

from kluis.audit.commands import command_ended, command_started, note, record_event
from kluis.audit.heads import HEAD_FILE, checkpoint, publication_head, write_head
from kluis.audit.log import AuditLog, default_log_path
from kluis.audit.record import AuditError

__all__ = [
    "HEAD_FILE",
    "AuditError",
    "AuditLog",
    "checkpoint",
    "command_ended",
    "command_started",
    "default_log_path",
    "note",
    "publication_head",
    "record_event",
    "write_head",
]
