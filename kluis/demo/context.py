"""What every demo stage receives: where to write, the scale, and how to run a kluis command."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console


@dataclass
class Demo:
    out: Path
    persons: int
    seed: int
    console: Console = field(default_factory=Console)

    def kluis(self, title: str, args: list[str], *, ok_codes: tuple[int, ...] = (0,)) -> int:
        """Run `kluis ARGS` through the real CLI (errors, exit codes and audit included); stop
        the demo when it fails."""
        from kluis.cli import app

        self.console.rule(f"[bold]{title}")
        self.console.print(f"[dim]$ kluis {shlex.join(args)}")
        start = time.perf_counter()
        try:
            code = app(args, standalone_mode=False, prog_name="kluis") or 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        if code not in ok_codes:
            self.console.print(f"[red]step failed with exit code {code}: {title}")
            sys.exit(code or 1)
        self.console.print(f"[green]done[/] in {time.perf_counter() - start:.1f} s")
        return code
