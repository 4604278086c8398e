"""Warehouse tables declared once: the source for the generator, validation and codebooks."""

from kluis.schema.model import Column, Table
from kluis.schema.status_flags import STATUS_FLAGS
from kluis.schema.tables import FIRST_YEAR, LAST_YEAR, TABLES, table

__all__ = ["Column", "Table", "STATUS_FLAGS", "TABLES", "FIRST_YEAR", "LAST_YEAR", "table"]
