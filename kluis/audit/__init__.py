"""Tamper-evident, append-only log of every action (uses no other part of kluis)."""

from kluis.audit.log import AuditError, AuditLog, default_log_path

__all__ = ["AuditLog", "AuditError", "default_log_path"]
