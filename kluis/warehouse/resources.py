"""The memory and thread options of commands that run DuckDB over the warehouse.

WHY: `--memory-limit lots` or `--threads 0` must be refused as a usage error naming the option,
before any work starts, not passed to the engine to fail with a traceback half-way.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)\s*$", re.IGNORECASE)
_FACTOR = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_FACTOR |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
MIN_MEMORY = 64 * 10**6  # below this DuckDB cannot even hold its buffers


def memory_limit(text: str) -> str:
    """A memory size such as '6GB', '500MB' or '4GiB', checked; raises ValueError saying what
    is expected."""
    m = _SIZE.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a memory size; write e.g. 4GB, 500MB or 6GiB")
    size = float(m.group(1)) * _FACTOR[m.group(2).lower()]
    if size < MIN_MEMORY:
        raise ValueError(f"{text!r} is too little memory: give at least 64MB")
    return f"{m.group(1)}{m.group(2).upper().replace('I', 'i')}"
