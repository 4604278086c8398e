"""kluis.enclave: the researchers' syntax run on an extract in a sandbox, every output checked.

`request` defines the output request a run writes (the contract with kluis.review and
kluis.release).
"""
