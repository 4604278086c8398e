"""The National Bank's enterprise list (deliberation 24/074): read it, check it, say what is wrong.

WHY: the list decides whose employees are extracted. A typo in an enterprise number, a line
listed twice or an enterprise the warehouse does not know must be reported to the person running
the extract, line by line, before anything is extracted — never silently repaired or dropped.

Format: a CSV with a header and the columns `kbo_number`, `rsz_number`, `group` (separator `,` or
`;`, detected from the header; other columns are refused). KBO numbers may be written with dots or
spaces (0403.170.701) and a `BE` prefix. Every line is checked vectorised (Arrow): the field
count, the KBO and RSZ check digits, the group value, duplicate lines, an RSZ number listed under
two enterprises, and, against the warehouse, whether the pair is known there.

Severity: format problems, duplicates, conflicts and pairs whose RSZ number belongs to another
enterprise in the warehouse are errors (the list cannot be used). Enterprises unknown to the
warehouse are warnings: they are listed by line in the report and counted in the extract, and
contribute no rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kluis.errors import BadInput, Refused
from kluis.warehouse import identifiers as ids
from kluis.yamlfile import Limits, YamlFileError, decode, read_bytes

COLUMNS = ("kbo_number", "rsz_number", "group")
MAX_BYTES = 256 * 2**20  # ~8 million lines: far more enterprises than Belgium has
_LIMITS = Limits(max_bytes=MAX_BYTES)
DEFAULT_GROUPS = ("intervention", "control")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class NbbProblem:
    """One problem on one line (line 1 is the header)."""

    line: int
    field: str | None
    kind: str
    message: str
    value: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else ""  # 0: the file as a whole
        where += (", " if where else "") + self.field if self.field else ""
        shown = f" ({self.value!r})" if self.value is not None else ""
        return f"{where}: {self.message}{shown}" if where else f"{self.message}{shown}"


@dataclass(frozen=True)
class NbbList:
    """A checked list: the usable enterprises, the unknown ones, and every problem found."""

    path: Path
    enterprises: pa.Table  # line, kbo_number, rsz_number, group — valid and known
    unknown: pa.Table  # same columns: valid, but not in the warehouse
    problems: tuple[NbbProblem, ...] = field(default_factory=tuple)
    lines: int = 0  # data lines read

    @property
    def errors(self) -> tuple[NbbProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[NbbProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def group_counts(self) -> dict[str, int]:
        counts = self.enterprises.column("group").value_counts().to_pylist()
        return dict(sorted((c["values"], int(c["counts"])) for c in counts))

    def summary(self) -> dict:
        """Counts for the manifest and codebook (never the identifiers themselves)."""
        return {
            "lines": self.lines,
            "enterprises_used": self.enterprises.num_rows,
            "unknown_to_warehouse": self.unknown.num_rows,
            "errors": len(self.errors),
            "groups": self.group_counts(),
        }


class NbbListError(BadInput, ValueError):
    """The list cannot be used; `problems` holds every error, each with its line."""

    def __init__(self, path: Path, problems: tuple[NbbProblem, ...], shown: int = 20) -> None:
        self.path = path
        self.problems = problems
        head = "\n".join(f"  {path}: {p}" for p in problems[:shown])
        more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
        super().__init__(f"NBB enterprise list {path}: {len(problems)} error(s)\n{head}{more}")


class NbbListUnmatched(Refused):
    """The list is well formed, but not one of its enterprises is in the warehouse: an extract
    would publish nothing as if it were something (exit 1: checked and refused)."""

    def __init__(self, checked: NbbList) -> None:
        self.checked = checked
        lines = checked.unknown.column("line").to_pylist()
        shown = ", ".join(str(n) for n in lines[:10]) + (" ..." if len(lines) > 10 else "")
        super().__init__(
            f"NBB enterprise list {checked.path}: none of its {len(lines)} enterprise(s) is known "
            f"to the warehouse (lines {shown}); nothing to extract: is it the list for this "
            "warehouse?"
        )


def _read_lines(path: Path) -> pa.Array:
    """Every physical line as one string, blank lines kept, so row i is line i + 1. The file
    must be UTF-8 text of at most MAX_BYTES (a binary or mis-encoded file is refused at the line
    of its first bad byte)."""
    try:
        text = decode(read_bytes(path, limits=_LIMITS), str(path), _LIMITS)
    except YamlFileError as exc:
        raise NbbListError(path, (NbbProblem(exc.line or 0, None, "file", exc.message),)) from None
    if not text:
        return pa.array([], type=pa.string())
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return pc.utf8_rtrim(pa.array(lines, type=pa.string()), characters="\r")


def _problems(
    mask: np.ndarray,
    lines: np.ndarray,
    values: pa.Array | None,
    fld: str | None,
    kind: str,
    message: str,
    severity: Severity = "error",
) -> list[NbbProblem]:
    idx = np.flatnonzero(mask)
    shown = values.take(pa.array(idx)).to_pylist() if values is not None else [None] * len(idx)
    return [
        NbbProblem(int(lines[i]), fld, kind, message, v, severity)
        for i, v in zip(idx, shown, strict=True)
    ]


def _first_occurrence(keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """For each row: is it a repeat of an earlier row, and the index of the first such row."""
    codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    first_idx = first[codes]
    return first_idx != np.arange(len(codes)), first_idx


def _normalise_kbo(values: pa.Array) -> pa.Array:
    out = pc.utf8_upper(values)
    out = pc.replace_substring_regex(out, r"^BE", "")
    return pc.replace_substring_regex(out, r"[.\s]", "")


def read_nbb_list(path: Path | str, groups: tuple[str, ...] = DEFAULT_GROUPS) -> NbbList:
    """Read and check the list on its own (format, check digits, groups, duplicates)."""
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) == 0 or not lines[0].as_py().strip():
        raise NbbListError(
            path,
            (NbbProblem(1, None, "header", f"empty file: expected a header {','.join(COLUMNS)}"),),
        )
    header = lines[0].as_py().lstrip("\ufeff")
    sep = ";" if header.count(";") > header.count(",") else ","
    names = [h.strip().strip('"').lower() for h in header.split(sep)]
    if names != list(COLUMNS):
        raise NbbListError(
            path,
            (NbbProblem(1, None, "header", f"header must be exactly {sep.join(COLUMNS)}", header),),
        )
    body = lines[1:]
    line_no = np.arange(2, len(body) + 2)
    blank = pc.equal(pc.utf8_trim_whitespace(body), "").to_numpy(zero_copy_only=False)
    body, line_no = body.filter(pa.array(~blank)), line_no[~blank]
    parts = pc.split_pattern(pc.replace_substring(body, '"', ""), sep)
    nfields = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    problems = _problems(
        nfields != len(COLUMNS),
        line_no,
        body,
        None,
        "fields",
        f"expected {len(COLUMNS)} fields separated by {sep!r}",
    )
    good = nfields == len(COLUMNS)
    parts, body, line_no = parts.filter(pa.array(good)), body.filter(pa.array(good)), line_no[good]
    raw = {c: pc.utf8_trim_whitespace(pc.list_element(parts, i)) for i, c in enumerate(COLUMNS)}
    kbo = _normalise_kbo(raw["kbo_number"])
    rsz = pc.replace_substring_regex(raw["rsz_number"], r"[.\s-]", "")
    group = pc.utf8_lower(raw["group"])

    bad: dict[str, np.ndarray] = {}
    for column, value, valid, rule in (
        ("kbo_number", kbo, ids.kbo_valid, ids.KBO_RULE),
        ("rsz_number", rsz, ids.rsz_valid, ids.RSZ_RULE),
    ):
        bad[column] = ~np.asarray(valid(value), dtype=bool)
        problems += _problems(bad[column], line_no, raw[column], column, column[:3], rule)
    bad_kbo, bad_rsz = bad["kbo_number"], bad["rsz_number"]
    bad_group = ~pc.is_in(group, value_set=pa.array(list(groups))).to_numpy(zero_copy_only=False)
    problems += _problems(
        bad_group,
        line_no,
        raw["group"],
        "group",
        "group",
        f"group must be one of {', '.join(groups)}",
    )

    pair = pc.binary_join_element_wise(kbo, rsz, "|")
    dup, first = _first_occurrence(pair)
    for i in np.flatnonzero(dup):
        problems.append(
            NbbProblem(
                int(line_no[i]),
                None,
                "duplicate",
                f"duplicate of line {int(line_no[first[i]])}",
                body[int(i)].as_py(),
            )
        )
    rsz_dup, rsz_first = _first_occurrence(rsz)
    conflict = rsz_dup & ~dup & ~bad_rsz
    for i in np.flatnonzero(conflict):
        problems.append(
            NbbProblem(
                int(line_no[i]),
                "rsz_number",
                "conflict",
                f"RSZ number already listed under another enterprise on line "
                f"{int(line_no[rsz_first[i]])}",
                rsz[int(i)].as_py(),
            )
        )
    usable = ~(bad_kbo | bad_rsz | bad_group | dup | conflict)
    table = pa.table(
        {
            "line": pa.array(line_no, type=pa.int64()),
            "kbo_number": kbo,
            "rsz_number": rsz,
            "group": group,
        }
    ).filter(pa.array(usable))
    problems.sort(key=lambda p: (p.line, p.field or "", p.kind))
    return NbbList(path, table, table.slice(0, 0), tuple(problems), lines=len(nfields))


def check_against_warehouse(checked: NbbList, employers: pa.Table) -> NbbList:
    """Split the usable lines into known and unknown enterprises; a pair whose RSZ number belongs
    to another enterprise in the warehouse is an error (it would extract someone else's staff)."""
    wh = employers.select(["kbo_number", "rsz_number"])
    t = checked.enterprises
    known_rsz = pc.is_in(t.column("rsz_number"), value_set=wh.column("rsz_number"))
    wh_pairs = pc.binary_join_element_wise(wh.column("kbo_number"), wh.column("rsz_number"), "|")
    pairs = pc.binary_join_element_wise(t.column("kbo_number"), t.column("rsz_number"), "|")
    known_pair = pc.is_in(pairs, value_set=wh_pairs).to_numpy(zero_copy_only=False)
    known_rsz = known_rsz.to_numpy(zero_copy_only=False)
    lines = t.column("line").to_numpy()
    mismatch = known_rsz & ~known_pair
    unknown = ~known_rsz
    problems = list(checked.problems)
    problems += _problems(
        mismatch,
        lines,
        t.column("rsz_number").combine_chunks(),
        "rsz_number",
        "mismatch",
        "RSZ number is registered under another enterprise number in the warehouse",
    )
    problems += _problems(
        unknown,
        lines,
        t.column("kbo_number").combine_chunks(),
        None,
        "unknown",
        "enterprise (KBO + RSZ) unknown to the warehouse: listed, no employees extracted",
        "warning",
    )
    problems.sort(key=lambda p: (p.line, p.field or "", p.kind))
    return NbbList(
        checked.path,
        t.filter(pa.array(known_pair)),
        t.filter(pa.array(unknown)),
        tuple(problems),
        checked.lines,
    )


def load_nbb_list(
    path: Path | str, employers: pa.Table | None = None, groups: tuple[str, ...] = DEFAULT_GROUPS
) -> NbbList:
    """Read, check and (given the warehouse's employers) match the list; raise `NbbListError`
    listing every error by line when it cannot be used. Warnings stay in the result."""
    checked = read_nbb_list(path, groups)
    if checked.ok and checked.enterprises.num_rows == 0:
        raise NbbListError(
            checked.path,
            (NbbProblem(1, None, "empty", "the list has a header and no enterprises"),),
        )
    if employers is not None:
        checked = check_against_warehouse(checked, employers)
    if checked.errors:
        raise NbbListError(checked.path, checked.errors)
    if employers is not None and checked.enterprises.num_rows == 0:
        raise NbbListUnmatched(checked)
    return checked
