"""Small SQL helpers shared by the risk modules: quoting, and the positional key columns.

Inside the risk engine the key variables are renamed to k0..k{K-1}, the stratum (the year of a
panel, or one stratum 0) to `s`, so that every query can be generated for any number of keys.
A key pattern's `mask` is a bit set: bit i is set when key i is missing (NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: largest number of key variables (masks are BIGINT bit sets; suppression enumerates subsets)
MAX_KEYS = 20


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def kcols(n_keys: int, prefix: str = "") -> list[str]:
    """['k0', 'k1', ...] (optionally qualified: 'p.k0')."""
    return [f"{prefix}k{i}" for i in range(n_keys)]


def klist(n_keys: int, prefix: str = "") -> str:
    return ", ".join(kcols(n_keys, prefix))


def mask_expr(n_keys: int, prefix: str = "") -> str:
    """The bit set of missing keys of a row."""
    return " + ".join(
        f"(CASE WHEN {prefix}k{i} IS NULL THEN {1 << i} ELSE 0 END)" for i in range(n_keys)
    )


def masked(n_keys: int, value_prefix: str, mask_sql: str) -> str:
    """k0..: the row's keys with every key whose bit is set in `mask_sql` replaced by NULL."""
    return ", ".join(
        f"CASE WHEN ({mask_sql} & {1 << i}) = 0 THEN {value_prefix}k{i} END AS k{i}"
        for i in range(n_keys)
    )


def same_keys(n_keys: int, left: str, right: str) -> str:
    """Key equality where NULL equals NULL (patterns are compared as released)."""
    return " AND ".join(f"{left}.k{i} IS NOT DISTINCT FROM {right}.k{i}" for i in range(n_keys))


def bits(mask: int, n_keys: int) -> list[int]:
    """Positions of the set bits of `mask`."""
    return [i for i in range(n_keys) if mask >> i & 1]


def mask_of(positions: Iterable[int]) -> int:
    out = 0
    for i in positions:
        out |= 1 << i
    return out


def names_of(mask: int, keys: Sequence[str]) -> list[str]:
    return [keys[i] for i in bits(mask, len(keys))]


def cost_sql(n_keys: int, importance: Sequence[float], bits_sql: str) -> str:
    """SQL for the cost of suppressing the keys whose bits are set in `bits_sql`."""
    return " + ".join(
        f"(CASE WHEN ({bits_sql} & {1 << i}) <> 0 THEN {float(importance[i])} ELSE 0 END)"
        for i in range(n_keys)
    )


def values_sql(masks: Iterable[int]) -> str:
    """The masks as a one-column relation lv(m)."""
    return "(VALUES " + ", ".join(f"({m})" for m in masks) + ") lv(m)"
