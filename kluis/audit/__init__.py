"""Tamper-evident, append-only log of every action (uses no other part of kluis)."""

from kluis.audit.commands import command_ended, command_started, note
from kluis.audit.log import AuditError, AuditLog, default_log_path

__all__ = [
    "AuditError",
    "AuditLog",
    "command_ended",
    "command_started",
    "default_log_path",
    "note",
]
