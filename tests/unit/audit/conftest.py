"""Fixtures: an isolated kluis home (see tests/unit/kluis_home.py)."""

from tests.unit.kluis_home import home  # noqa: F401
