"""The one error hierarchy of kluis, and the exit code each kind of error means.

Every error a user can cause is a `KluisError`; the CLI (`kluis.cli.main`) is the one place that
turns it into a one-line message on stderr and an exit code, never a traceback:

    0  done
    1  checked and refused: not releasable, not in force, a broken log or bundle
    2  bad input or usage: a file, field, row or option that cannot be used
    3  not permitted: the user's role does not allow the action

Each stage keeps its own subclasses (``DeliberationError``, ``SpecError``, ...) so callers can
catch what they expect; the exit code comes from the branch they hang on.
"""

from __future__ import annotations

EXIT_DONE = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_PERMITTED = 3


class KluisError(Exception):
    """Base of every error kluis reports to a user. The message names what is wrong and where
    (file, line, field, row), so no traceback is needed."""

    exit_code: int = EXIT_BAD_INPUT


class BadInput(KluisError):
    """A file, option or value that cannot be used (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class Refused(KluisError):
    """The input was read and checked, and the check says no (exit 1): a table that may not be
    released, a deliberation not in force, a log or bundle that does not verify."""

    exit_code = EXIT_REFUSED


class NotPermitted(KluisError):
    """The acting user's role does not allow this action (exit 3)."""

    exit_code = EXIT_NOT_PERMITTED


def exit_code_of(exc: BaseException) -> int:
    """The exit code the CLI gives for `exc` (unknown errors are bugs: 70, EX_SOFTWARE)."""
    if isinstance(exc, KluisError):
        return exc.exit_code
    return 70
