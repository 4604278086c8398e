"""The steps of one extract run, counted so that a progress bar can say how far it is.

Builders and the publisher report through `ctx.progress(message)` when a step starts, and call
`expect(ctx.progress, n)` as soon as they know n more steps are coming (the panel builder once
it has planned its years, the publisher once the tables are known: tables × years × formats).
A plain `Callable[[str], None]` still works as a progress callback: it gets the messages and
no counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

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
    plain, last = progress, [0]

    def report(message: str, done: int, total: int) -> None:
        if done > last[0]:  # a step started (not just more announced)
            last[0] = done
            plain(message)

    return Steps(report)


@contextmanager
def progress_bar(console: Console) -> Iterator[Steps]:
    """A bar over the run's steps on `console` (stderr): the current step, steps done out of
    those known, time elapsed. Transient: it leaves no frame on the screen, whether the run
    ends or fails (the error is then printed on a clean line). Shown only on a terminal: a log
    file or a pipe gets no progress at all."""
    if not console.is_terminal:
        yield Steps()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def report(message: str, done: int, total: int) -> None:
            # a step is complete when the next one starts: the bar shows finished steps
            bar.update(task, description=message, completed=max(0, done - 1), total=total or None)

        yield Steps(report)
