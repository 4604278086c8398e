"""Retention: what is kept until when, and destruction at the date (crypto-shredding).

- `plan(today, deliberations=None) -> Plan`: every catalogued item with its retention date;
- `enforce(today, deliberations=None, dry_run=False) -> Outcome`: destroy what is due,
  resuming an interrupted run, with a signed destruction certificate.
"""

from kluis.retention.enforce import Outcome, enforce
from kluis.retention.plan import Item, Plan, plan

__all__ = ["Item", "Outcome", "Plan", "enforce", "plan"]
