"""The researcher's API inside the enclave: `import kluis.safe as safe`.

See kluis.enclave.safe (and docs/enclave.md): read the extract with `data(name)`, ask for
outputs with `crosstab`, `pivot_table`, `describe`, `histogram`, `ols`, `logit`, `probit` and
`file`. Every output is recomputed and checked by the enclave, outside the sandbox, with the
deliberation's rules.
"""

from kluis.enclave.safe import (
    EnclaveError,
    Requested,
    crosstab,
    data,
    describe,
    file,
    histogram,
    logit,
    ols,
    pivot_table,
    probit,
    rules,
    tables,
)

__all__ = [
    "EnclaveError",
    "Requested",
    "crosstab",
    "data",
    "describe",
    "file",
    "histogram",
    "logit",
    "ols",
    "pivot_table",
    "probit",
    "rules",
    "tables",
]
