"""The trusted side's DuckDB: runs checked queries on the extract itself, and nothing else.

Every query reaching it has passed `sqlcheck` (one row-wise SELECT over the extract's tables);
the connection is closed to everything else as a second wall: file access only inside the
extract (DuckDB `allowed_directories`, then `enable_external_access = false` and
`lock_configuration`), no extension loading, a memory limit, a temporary directory in the run's
work area, and a time limit after which the query is interrupted.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from kluis.enclave.extract import ExtractInfo
from kluis.enclave.sqlcheck import QueryRefused


def redacted(exc: Exception) -> str:
    """The first line of an error, with every single-quoted run replaced by '…': DuckDB and
    Python quote the value a conversion met, and a researcher can choose which value that is
    (a person's wage as text). Double-quoted names of columns stay."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"'[^']*'", "'…'", first)


def _q(text: str) -> str:
    return text.replace("'", "''")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Executor:
    """One locked-down connection over the extract's tables (views by their plain names)."""

    def __init__(
        self,
        extract: ExtractInfo,
        temp_dir: Path,
        *,
        memory_limit: str = "4GB",
        threads: int = 2,
        timeout: float = 1800.0,
    ) -> None:
        self.extract = extract
        self.timeout = timeout
        temp_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(
            config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
        )
        root = extract.path.as_posix().rstrip("/") + "/"
        con.execute(f"SET allowed_directories = ['{_q(root)}']")
        con.execute(f"SET temp_directory = '{_q(temp_dir.as_posix())}'")
        con.execute(f"SET memory_limit = '{_q(memory_limit)}'")
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET enable_progress_bar = false")
        for t in extract.tables.values():
            files = ", ".join(f"'{_q((extract.path / f).as_posix())}'" for f in t.files)
            con.execute(
                f"CREATE VIEW {ident(t.name)} AS SELECT * FROM read_parquet([{files}], "
                "hive_partitioning = false)"
            )
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        self.con = con

    def arrow(self, sql: str) -> pa.Table:
        """The result of a checked query, as an Arrow table (interrupted after `timeout`)."""
        timer = threading.Timer(self.timeout, self.con.interrupt)
        timer.start()
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.InterruptException:
            raise QueryRefused(f"the query ran longer than {self.timeout:g} s") from None
        except duckdb.OutOfMemoryException as exc:
            raise QueryRefused(f"the query needs more memory than allowed: {exc}") from None
        except duckdb.Error as exc:
            raise QueryRefused(f"the query failed: {redacted(exc)}") from None
        finally:
            timer.cancel()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
