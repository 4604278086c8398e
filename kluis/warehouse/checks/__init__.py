"""The warehouse validator's checks, one module per kind of check.

The public entry point is `kluis.warehouse.validate.validate_warehouse`; these are its parts.
"""
