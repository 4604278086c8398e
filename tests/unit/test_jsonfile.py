"""The one JSON reader: everything a parser trips over becomes one located BadInput."""

from __future__ import annotations

import pytest

from kluis.errors import BadInput
from kluis.jsonfile import loads, read_json, read_object


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "f.json: not valid JSON: nested too deeply"),
        (b'{"a": 1,\n "a": 2}', "f.json: duplicate key 'a'"),
        (b'{"a": NaN}', "f.json: NaN is not a JSON number"),
        (b'{"a":\n "\xff"}', "f.json:2: byte 0xff is not UTF-8"),
        (b'{"a": 1}\x00', "f.json: a NUL byte"),
        (b'{\n"a": }', "f.json:2: not valid JSON: Expecting value (column 6)"),
    ],
)
def test_what_json_trips_over_is_one_located_error(data, says):
    with pytest.raises(BadInput) as caught:
        loads(data, "f.json")
    assert str(caught.value) == says or str(caught.value).startswith(says)
    assert isinstance(caught.value, ValueError)  # callers catching json's errors catch these


def test_a_line_of_a_json_lines_file_is_named_by_its_line():
    with pytest.raises(BadInput, match=r"^log\.jsonl:7: not valid JSON"):
        loads(b"{", "log.jsonl", line=7)


def test_files_missing_too_large_a_directory_or_not_an_object(tmp_path):
    with pytest.raises(BadInput, match="cannot read"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(BadInput, match="is a directory"):
        read_json(tmp_path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048 + b"{}")
    with pytest.raises(BadInput, match="at most 1,024 bytes"):
        read_json(big, max_bytes=1024)
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(BadInput, match=r"list\.json:1: request\.json must be a JSON object"):
        read_object(tmp_path / "list.json", what="request.json")
    assert read_json(big) == {}
