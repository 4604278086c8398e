"""kluis.release: the approved outputs of a request leave as a signed bundle anyone can verify.

- `release_request(request_dir, out, user, key)` (kluis.release.bundle)
- `verify_bundle(bundle, public_key)` (kluis.release.verify)
- `add_to_history(review_request, outputs)` (kluis.release.history): the released tables
  recorded in the deliberation's release history, in the same step.
"""
