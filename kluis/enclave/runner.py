"""Inside the sandbox: run one researcher Python file as `__main__`.

`python -m kluis.enclave.runner SCRIPT` with KLUIS_ENCLAVE_CONTEXT naming the context file the
enclave wrote (read-only inside). The project's folder is importable (helpers next to the
script), the working directory is a writable scratch folder, and `kluis.safe` finds the extract
and the outbox through the context. Whatever the script prints goes to its log, which only the
output checker reads.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kluis.enclave.runner SCRIPT", file=sys.stderr)
        return 2
    script = Path(argv[0])
    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except BaseException:  # noqa: BLE001 - the researcher's error, reported in their log
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    os.umask(0o077)
    raise SystemExit(main(sys.argv[1:]))
