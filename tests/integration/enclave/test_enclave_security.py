"""Hostile researcher code against the real sandbox: each attempt is stopped and logged.

One hostile project, one entry file per attack, run once on the full extract with small limits;
each test reads what its entry file left: the request's events, the entry's log, the audit log,
and the host itself (a listener that must never see a connection, files that must not appear).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from kluis.enclave.request import load_request
from tests.integration.enclave.conftest import enclave_run, run_records, write_project

pytestmark = pytest.mark.xdist_group("enclave")

LIMITS = [
    "--memory",
    "2G",
    "--processes",
    "24",
    "--cpu-seconds",
    "6",
    "--wall-seconds",
    "30",
    "--file-size",
    "20M",
    "--disk",
    "100M",
]


class Listener:
    """A TCP listener on the host's 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def _scripts(paths: dict[str, Path], port: int, outside: Path) -> dict[str, str]:
    return {
        "net.py": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)\n",
        "keystore.py": f"print(open({str(paths['key'])!r}, 'rb').read())\n",
        "warehouse.py": f"import os\nprint(os.listdir({str(paths['warehouse'])!r}))\n",
        "other_extract.py": f"print(open({str(paths['other'])!r}).read())\n",
        "kluis_home.py": f"print(open({str(paths['audit'])!r}).read())\n",
        "write_out.py": (
            "import os\n"
            f"for p in [{str(outside / 'x')!r}, {str(paths['extract'] / 'x')!r}, "
            "'/extract/x', '/project/x', '/etc/x', '/x']:\n"
            "    try:\n        open(p, 'w').write('x'); print('WROTE', p)\n"
            "    except OSError as e:\n        print('refused', p, e)\n"
            f"open({str(outside / 'y')!r}, 'w').write('x')\n"
        ),
        "memory.py": "x = bytearray(8 << 30)\n",
        "forkbomb.py": "import os\nwhile True:\n    os.fork()\n",
        "forever.py": "while True:\n    pass\n",
        "bigfile.py": "with open('big.bin', 'wb') as f:\n    f.write(b'0' * (200 << 20))\n",
        "manyfiles.py": (
            "import time\n"
            "for k in range(40):\n"
            "    open(f'part{k}.bin', 'wb').write(b'0' * (10 << 20))\n"
            "time.sleep(60)\n"
        ),
        "weaker_rules.py": (
            "import kluis.safe as safe\n"
            "t = safe.data('table1_next')\n"
            "try:\n"
            "    safe.crosstab(t, ['province', 'age'], 'sex', rules={'min_frequency': 1})\n"
            "except PermissionError as e:\n"
            "    print('refused:', e)\n"
            "# go around kluis.safe: monkeypatch it, then forge a request with rules\n"
            "import json, kluis.enclave.safe as impl\n"
            "impl.RULE_WORDS = frozenset()\n"
            "safe.crosstab(t.filter(t.year == 2025), ['province', 'age'], 'sex', "
            "name='small_cells')\n"
            "box = impl._context().outbox / 'intents'\n"
            "forged = json.loads(open(sorted(box.glob('*.json'))[-1]).read())\n"
            "forged.update(name='forged', rules={'min_frequency': 1})\n"
            "open(box / '99999.json', 'w').write(json.dumps(forged))\n"
            "open('/kluis/context.json', 'w').write('{}')\n"
        ),
        "direct_engine.py": (
            "import kluis.safe as safe\n"
            "from kluis.disclosure.protect import protect\n"
            "from kluis.disclosure.spec import TableSpec\n"
            "t = safe.data('table1_next')\n"
            "df = t.filter(t.year == 2025).select('person_id', 'province', 'age').execute()\n"
            "spec = TableSpec.model_validate({'name': 'weak', 'person_id': 'person_id',\n"
            "    'dimensions': [{'column': 'province'}, {'column': 'age'}],\n"
            "    'rules': {'min_frequency': 1, 'p_percent': None, 'nk': None}})\n"
            "protect(df, spec).frame().to_csv('weak.csv', index=False)\n"
            "safe.file('weak.csv', note='checked with my own rules', name='weak_table')\n"
        ),
        "link_out.py": (
            "import json, os\n"
            "import kluis.safe as safe\n"
            "import kluis.enclave.safe as impl\n"
            "open('ok.txt', 'w').write('hello')\n"
            "safe.file('ok.txt', name='harmless')\n"
            "box = impl._context().outbox\n"
            "os.rename(box / 'files', box / 'was_files')\n"
            f"os.symlink({str(paths['key'].parent)!r}, box / 'files')\n"
            "intents = box / 'intents'\n"
            "forged = json.loads(open(sorted(intents.glob('*.json'))[-1]).read())\n"
            f"forged.update(name='stolen', path={paths['key'].name!r})\n"
            "open(intents / '99998.json', 'w').write(json.dumps(forged))\n"
        ),
        "raw_frame.py": (
            "import kluis.safe as safe\n"
            "t = safe.data('table1_next')\n"
            "frame = t.filter(t.year == 2025).select('person_id', 'province', 'sex', 'age')"
            ".execute()\n"
            "frame.to_csv('people.csv', index=False)\n"
            "safe.file('people.csv', note='just my data')\n"
        ),
    }


@pytest.fixture(scope="module")
def hostile(enclave_extracts, enclave_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    outside = root / "outside"
    outside.mkdir()
    extract = enclave_extracts["26-104-full"]
    paths = {
        "key": next((enclave_extracts["keys"]).rglob("*26-104*")),
        "warehouse": enclave_extracts["warehouse"],
        "other": enclave_extracts["24-074-full"] / "manifest.json",
        "audit": enclave_home / "audit.jsonl",
        "extract": extract,
    }
    listener = Listener()
    try:
        project = write_project(root / "project", "26/104", _scripts(paths, listener.port, outside))
        code, text = enclave_run(project, extract, root / "request", *LIMITS)
    finally:
        listener.close()
    req = load_request(root / "request")
    events = {e["entry"]: e for e in req.events if "entry" in e}
    logs = {
        run["entry"]: (root / "request" / run["log"]).read_text() for run in req.sandbox["runs"]
    }
    audit = run_records(enclave_home)
    return {
        "code": code,
        "text": text,
        "request": req,
        "events": events,
        "logs": logs,
        "audit": audit[-1],
        "listener": listener,
        "outside": outside,
        "extract": extract,
        "root": root,
        "key": paths["key"],
    }


def _stopped(h: dict, entry: str, kind: str, detail: str) -> None:
    """The entry's event says how it was stopped, and the audit record of the run has it."""
    e = h["events"][entry]
    assert e["kind"] == kind, e
    assert detail in (e.get("detail", "") + e.get("limit", "")), e
    logged = [x for x in h["audit"]["events"] if x.get("entry") == entry]
    assert logged and logged[0]["kind"] == kind


def test_the_run_is_refused_and_its_request_kept(hostile):
    assert hostile["code"] == 1
    assert "went wrong in the run" in hostile["text"]
    assert hostile["request"].sandbox["isolation"] == "bwrap"


def test_no_network(hostile):
    assert hostile["listener"].accepted == 0
    e = hostile["events"]["net.py"]
    assert e["kind"] == "failed"
    assert "ConnectionRefusedError" in e["detail"] or "unreachable" in e["detail"]
    _stopped(hostile, "net.py", "failed", "Error")


@pytest.mark.parametrize(
    "entry", ["keystore.py", "warehouse.py", "other_extract.py", "kluis_home.py"]
)
def test_paths_outside_its_extract_do_not_exist(hostile, entry):
    _stopped(hostile, entry, "failed", "FileNotFoundError")
    assert "Traceback" in hostile["logs"][entry]


def test_cannot_write_outside_its_output_folder(hostile):
    log = hostile["logs"]["write_out.py"]
    assert "WROTE" not in log
    assert log.count("refused") == 6
    _stopped(hostile, "write_out.py", "failed", "No such file or directory")
    assert list(hostile["outside"].iterdir()) == []
    assert not (hostile["extract"] / "x").exists()


def test_memory_limit(hostile):
    _stopped(hostile, "memory.py", "stopped", "memory")


def test_fork_bomb(hostile):
    _stopped(hostile, "forkbomb.py", "stopped", "processes")
    run = next(r for r in hostile["request"].sandbox["runs"] if r["entry"] == "forkbomb.py")
    assert run["peak_processes"] <= 24 + 2


def test_endless_loop(hostile):
    e = hostile["events"]["forever.py"]
    assert e["kind"] == "stopped" and e["limit"] in ("cpu-time", "wall-time")
    run = next(r for r in hostile["request"].sandbox["runs"] if r["entry"] == "forever.py")
    assert run["seconds"] < 30 + 5


def test_file_size_limit(hostile):
    _stopped(hostile, "bigfile.py", "stopped", "file-size")


def test_disk_limit(hostile):
    _stopped(hostile, "manyfiles.py", "stopped", "disk")


def test_weaker_rules_are_refused_logged_and_never_applied(hostile):
    req = hostile["request"]
    tamper = [e for e in req.events if e["kind"] == "tamper"]
    assert tamper and "rules cannot be set" in tamper[0]["detail"]
    assert hostile["audit"]["tamper"] >= 1
    rejected = [e for e in req.events if e["kind"] == "rejected"]
    assert any("rules" in e["detail"] for e in rejected)  # the forged request was not read
    assert "forged" not in {o.name for o in req.outputs}
    assert "Read-only file system" in hostile["logs"]["weaker_rules.py"]  # the context file
    table = req.output("small_cells")
    assert table.status in ("suppressed", "refused")  # province x age x sex has small cells
    import pandas as pd

    cells = pd.read_csv(hostile["root"] / "request" / table.files["output"])
    shown = cells["persons"].dropna()
    assert ((shown == 0) | (shown >= 10)).all()  # the deliberation's 10, not the forged 1


def test_a_raw_data_frame_through_file_goes_to_a_checker(hostile):
    out = hostile["request"].output("raw_frame_file_001")
    assert out.status == "review", out.reason
    reasons = {f["reason"] for f in out.flagged}
    assert "identifier column (row-level data)" in reasons
    assert any("listing of cases" in r for r in reasons)
    assert out.note == "just my data"


def test_the_engine_called_directly_with_weak_rules_only_reaches_a_checker(hostile):
    """Code may run the disclosure engine inside the sandbox with any rules it likes; what it
    makes is a file like any other: to a checker, flagged, never a checked table."""
    req = hostile["request"]
    mine = [o for o in req.outputs if o.source.startswith("direct_engine.py")]
    assert [o.name for o in mine] == ["weak_table"]
    (out,) = mine
    assert out.kind == "file" and out.status == "review", out
    assert any("below" in f["reason"] for f in out.flagged), out.flagged  # the small counts


def test_a_link_put_in_the_outbox_reads_nothing_of_the_host(hostile):
    req = hostile["request"]
    stolen = req.output("stolen")
    assert stolen.status == "refused" and "link" in stolen.reason, stolen
    assert stolen.files == {}
    key = hostile["key"].read_bytes()
    for p in (hostile["root"] / "request").rglob("*"):
        assert not p.is_file() or key not in p.read_bytes(), p
