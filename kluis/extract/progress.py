"""The steps of one extract run, counted so that a progress bar can say how far it is.

Builders and the publisher report through `ctx.progress(message)` when a step starts, and call
`expect(ctx.progress, n)` as soon as they know n more steps are coming (the panel builder once
it has planned its years, the publisher once the tables are known: tables × years × formats).
A plain `Callable[[str], None]` still works as a progress callback: it gets the messages and
no counts.
"""

from __future__ import annotations

from collections.abc import Callable

# message, steps started so far, steps known so far
Report = Callable[[str, int, int], None]


class Steps:
    """A progress callback that also counts: `done` steps started out of `total` known."""

    def __init__(self, report: Report | None = None) -> None:
        self._report = report or (lambda message, done, total: None)
        self.done = 0
        self.total = 0
        self.message = ""

    def expect(self, n: int) -> None:
        """n more steps are coming."""
        self.total += max(0, n)
        self._report(self.message, self.done, self.total)

    def __call__(self, message: str) -> None:
        """A step starts (the previous one is done)."""
        self.message = message
        self.done += 1
        self.total = max(self.total, self.done)
        self._report(message, self.done, self.total)


def expect(progress: Callable[[str], None], n: int) -> None:
    """Announce n more steps to `progress` when it counts (a `Steps`); nothing otherwise."""
    if isinstance(progress, Steps):
        progress.expect(n)


def steps(progress: Callable[[str], None] | None) -> Steps:
    """`progress` as a `Steps` (a plain callback gets the messages)."""
    if isinstance(progress, Steps):
        return progress
    if progress is None:
        return Steps()
    plain = progress
    return Steps(lambda message, done, total: plain(message))
