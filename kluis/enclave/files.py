"""file(path, note): anything else a researcher made (a figure, a text) goes to a checker.

The file was written by code inside the sandbox, so the enclave believes nothing about it: it is
copied into outputs/ with the researcher's note, scanned for small counts and row-level data,
and always has status `review`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kluis.enclave.intents import FILES_DIR, FileIntent
from kluis.enclave.outputs import OUTPUTS, BuildContext, finish, refused
from kluis.enclave.request import NAME_PATTERN, Output
from kluis.enclave.safe import MAX_FILE_BYTES
from kluis.enclave.scan import scan_file


def build_file(ctx: BuildContext, intent: FileIntent, outbox: Path) -> Output:
    import re

    folder = outbox / FILES_DIR
    src = folder / intent.path
    if not re.fullmatch(NAME_PATTERN, intent.path) or src.parent != folder:
        return refused(intent.name, "file", intent.source, f"file name {intent.path!r} refused")
    if src.is_symlink() or not src.is_file():
        return refused(intent.name, "file", intent.source, "the file is missing or not a file")
    # code in the sandbox may have put a link in place of the files folder (or of the outbox's
    # parts): a link is resolved here, on the host, so the file must really be in the outbox
    real = outbox.resolve() / FILES_DIR
    if folder.is_symlink() or folder.resolve() != real or src.resolve() != real / src.name:
        return refused(
            intent.name,
            "file",
            intent.source,
            "the file is not in the outbox (a link was put there)",
        )
    size = src.stat().st_size
    if size > MAX_FILE_BYTES:
        return refused(intent.name, "file", intent.source, f"{size:,} bytes: too large")
    # the name on disk is the enclave's (output name + the file's suffix), never the sandbox's
    target = ctx.path(OUTPUTS, f"{intent.name}{''.join(Path(intent.path).suffixes[-1:])}")
    if target.exists():
        return refused(intent.name, "file", intent.source, f"{target.name} is already taken")
    shutil.copyfile(src, target, follow_symlinks=False)
    flags = scan_file(target, ctx.rules.min_frequency)
    reason = "a file always goes to a checker"
    if flags:
        reason += f"; {len(flags)} thing(s) flagged for the checker"
    out = Output(
        name=intent.name,
        kind="file",
        status="review",
        reason=reason,
        source=intent.source,
        note=intent.note,
        files={"output": ctx.rel(target)},
        flagged=flags,
    )
    return finish(ctx, out)
