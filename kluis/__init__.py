"""kluis: give researchers the data a deliberation allows, and nothing more."""

__version__ = "0.1.0"
