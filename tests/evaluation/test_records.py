from __future__ import annotations

from pathlib import Path

import pytest

from realcode.evaluation.records import RecordError, append_records, read_records


def test_append_and_read_keep_first_of_each_key(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    append_records(path, [{"key": "a", "v": 1}, {"key": "b", "v": 2}])
    append_records(path, [{"key": "a", "v": 99}])
    recs = read_records(path)
    assert recs == {"a": {"key": "a", "v": 1}, "b": {"key": "b", "v": 2}}


def test_torn_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    append_records(path, [{"key": "a", "v": 1}])
    with path.open("a") as fh:
        fh.write('{"key": "b", "v"')  # killed mid-write
    assert set(read_records(path)) == {"a"}
    read_records(path, repair=True)
    append_records(path, [{"key": "b", "v": 2}])
    assert read_records(path)["b"]["v"] == 2
    assert path.read_text().count("\n") == 2


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b"}')
    assert set(read_records(path, repair=True)) == {"a", "b"}
    append_records(path, [{"key": "c"}])
    assert set(read_records(path)) == {"a", "b", "c"}


def test_malformed_middle_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(RecordError, match=r"r\.jsonl:2: malformed record"):
        read_records(path)


def test_missing_file_has_no_records(tmp_path: Path) -> None:
    assert read_records(tmp_path / "none.jsonl") == {}
