"""kluis.yamlfile: the one reader of hand-written YAML refuses hostile files at their line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kluis.errors import BadInput
from kluis.yamlfile import LIMITS, Limits, YamlFileError, parse_yaml, read_bytes, read_yaml

SHIPPED = Path(__file__).resolve().parents[2] / "deliberations"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The billion-laughs document: each level repeats the previous one `width` times."""
    text = "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]\n"
    for i in range(1, levels + 1):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
    return text


def test_shipped_deliberations_read_with_their_anchors():
    doc = read_yaml(SHIPPED / "26-104.yaml")
    tables = doc.data["tables"]
    # 26/104 reuses its T+1 list through an alias: legitimate, and each use is located
    assert tables[0]["next_year"] == doc.data["offsets"]["next"]
    assert doc.line(("tables", 0, "next_year")) == _line(SHIPPED / "26-104.yaml", "next_year:")
    assert doc.data["effective"] == "2026-06-17"  # dates stay text for the model to parse


def _line(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


def test_alias_bomb_is_refused_quickly_at_its_line():
    text = alias_bomb()
    assert len(text) < 700
    start = time.perf_counter()
    with pytest.raises(YamlFileError) as exc:
        parse_yaml(text, "bomb.yaml")
    assert time.perf_counter() - start < 5
    assert f"more than {LIMITS.max_nodes:,} values" in str(exc.value)
    assert exc.value.line is not None and 2 <= exc.value.line <= 10
    assert str(exc.value).startswith(f"bomb.yaml:{exc.value.line}: ")


def test_a_small_alias_expansion_is_fine():
    doc = parse_yaml(alias_bomb(levels=2, width=3), "small.yaml")
    assert doc.data["a2"][0] == doc.data["a1"] == [["lol"] * 3] * 3


def test_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(YamlFileError, match="alias refers to the node that contains it"):
        parse_yaml("a: &x [1, *x]\n", "cycle.yaml")


def test_deep_nesting_is_refused_not_a_recursion_error():
    text = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(YamlFileError) as exc:
        parse_yaml(text, "deep.yaml")
    assert exc.value.line == 1 and "nest" in exc.value.message
    ok = "a: " + "[" * (LIMITS.max_depth - 1) + "]" * (LIMITS.max_depth - 1) + "\n"
    assert parse_yaml(ok, "ok.yaml").data["a"]


def test_a_long_value_and_a_large_file_are_refused(tmp_path: Path):
    with pytest.raises(YamlFileError, match=r"values of at most 65,536") as exc:
        parse_yaml("a: 1\nb: " + "x" * 70_000 + "\n", "long.yaml")
    assert exc.value.line == 2
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:  # 50 MB without writing 50 MB: refused from its size alone
        fh.truncate(50_000_000)
    start = time.perf_counter()
    with pytest.raises(YamlFileError, match=r"50,000,000 bytes: kluis reads at most 1,048,576"):
        read_yaml(big)
    assert time.perf_counter() - start < 1


def test_limits_are_parameters():
    with pytest.raises(YamlFileError, match="more than 3 values"):
        parse_yaml("a: [1, 2, 3]\n", "x.yaml", limits=Limits(max_nodes=3))
    with pytest.raises(YamlFileError, match="at most 10 bytes"):
        parse_yaml("a: 1234567890\n", "x.yaml", limits=Limits(max_bytes=10))


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"a: 1\nb: caf\xe9\n", 2, "byte 0xe9 at column 7 is not UTF-8"),
        (b"a: 1\n\x00\x01\x02", 2, "NUL byte at column 1: this is a binary file"),
        (b"a: 1\nb: \x07\n", 2, "not allowed in YAML text"),
        (b"a: [1, 2\nb: 3\n", 2, "not valid YAML"),
        (b"- a\n- b\n", 1, "must be a YAML mapping"),
        (b"", 1, "must be a YAML mapping"),
        (b"a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)"),
        (b"? [a]\n: b\n", 1, "a key must be plain text"),
        (b"a: 1\n---\nb: 2\n", 2, "not valid YAML"),
    ],
)
def test_located_errors(data: bytes, line: int, message: str):
    with pytest.raises(YamlFileError) as exc:
        parse_yaml(data, "f.yaml")
    assert exc.value.line == line
    assert message in exc.value.message
    assert isinstance(exc.value, BadInput)


def test_byte_order_mark_is_accepted():
    assert parse_yaml(b"\xef\xbb\xbfa: 1\n", "bom.yaml").data == {"a": 1}


def test_not_a_regular_file(tmp_path: Path):
    with pytest.raises(YamlFileError, match="is a directory"):
        read_bytes(tmp_path)
    with pytest.raises(YamlFileError, match="No such file"):
        read_bytes(tmp_path / "absent.yaml")
    with pytest.raises(YamlFileError, match="not a regular file"):
        read_bytes(Path("/dev/zero"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(alphabet="{}[]:,-&*!|>'\"%@`#? \nab1", max_size=200))
def test_any_input_gives_data_or_a_located_error(data: bytes | str):
    """Whatever the bytes, the reader answers with a mapping or a YamlFileError: never another
    exception (a traceback for the user)."""
    try:
        doc = parse_yaml(data, "any.yaml")
    except YamlFileError as exc:
        assert str(exc).startswith("any.yaml")
    else:
        assert isinstance(doc.data, dict)
