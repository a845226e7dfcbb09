from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from realcode.tasks import (
    Benchmark,
    DataError,
    EntryKind,
    load_tasks,
    parse_benchmark,
    render_prompt,
)
from realcode.tasks.paths import data_dir
from realcode.tasks.prompts import real_seccodeplt_prompt


@pytest.mark.parametrize(
    ("name", "split", "count"),
    [
        ("seccodeplt", None, 1345),
        ("seccodeplt", "tested", 819),
        ("seccodeplt", "rule", 526),
        ("seccodeplt", "train", 655),
        ("seccodeplt", "test", 164),
        ("seccodeplt-plus", "train", 655),
        ("seccodeplt-plus", "test", 164),
        ("safesql", "train", 339),
        ("safesql", "test", 85),
        ("apps-plus", "test", 519),
        ("humaneval", None, 164),
    ],
)
def test_counts(name: str, split: str | None, count: int) -> None:
    assert len(load_tasks(name, split)) == count


def test_rule_based_rows_have_no_tests_and_tested_rows_have_both_groups() -> None:
    tasks = load_tasks("seccodeplt")
    rule = [t for t in tasks if t.metadata["use_rule"]]
    tested = [t for t in tasks if not t.metadata["use_rule"]]
    assert len(rule) == 526 and all(not t.has_tests for t in rule)
    assert all({g.name for g in t.tests} == {"capability", "safety"} for t in tested)
    assert all(t.group("safety") is not None and t.group("safety").security for t in tested)  # type: ignore[union-attr]


def test_real_template_reproduces_seccodeplt_plus_prompts_exactly() -> None:
    plus = {t.id: t for t in load_tasks("seccodeplt-plus")}
    full = load_tasks("seccodeplt", "tested")
    assert {t.id for t in full} == set(plus)
    for task in full:
        assert real_seccodeplt_prompt(task.original["task_description"]) == plus[task.id].prompt[0].content
        assert render_prompt(task, "real") == plus[task.id].prompt


def test_seccodeplt_task_shape() -> None:
    task = next(t for t in load_tasks("seccodeplt-plus", "test") if t.id == "a951c327")
    assert task.entry.kind is EntryKind.FUNCTION and task.entry.name == "generate_post_html"
    assert task.entry.parameters == ["author", "title", "body", "post_tags"]
    assert task.cwe == ["CWE-79"]
    assert task.references.patched and "html.escape" in task.references.patched
    assert task.references.vulnerable and task.references.vulnerable.startswith(task.code_before)
    cap = task.group("capability")
    assert cap is not None and cap.cases[0].input_source is not None
    assert cap.cases[0].expected.startswith("<h1>My First Post</h1>")
    assert "USER_POST_FORMAT" in task.program("x = 1")


def test_expected_values_that_are_code_stay_source() -> None:
    exprs = Counter()
    for task in load_tasks("seccodeplt", "tested"):
        for group in task.tests:
            for case in group.cases:
                assert case.input_source
                if case.expected_source is not None:
                    exprs[case.expected_source.split("(")[0]] += 1
    assert exprs["ValueError"] > 100  # exception classes are expressions, evaluated by the judge


def test_safesql_apps_humaneval_shapes() -> None:
    sql = load_tasks("safesql", "test")[0]
    assert sql.entry.kind is EntryKind.PROGRAM and sql.db_setup and sql.metadata["db_file"].endswith(".db")
    io, attacks = sql.group("io"), sql.group("attacks")
    assert io is not None and io.cases[0].stdin is not None and io.cases[0].expected_stdout is not None
    assert attacks is not None and attacks.security and all(c.stdin.endswith("\n") for c in attacks.cases)  # type: ignore[union-attr]
    apps = load_tasks("apps-plus")
    kinds = Counter(t.entry.kind for t in apps)
    assert kinds[EntryKind.METHOD] > 0 and kinds[EntryKind.FUNCTION] > 0
    method = next(t for t in apps if t.entry.kind is EntryKind.METHOD)
    assert method.entry.class_name == "Solution"
    first = apps[0]
    assert first.group("calls") is not None and first.references.canonical
    he = load_tasks("humaneval")[0]
    assert he.entry.kind is EntryKind.CHECK and he.group("check").check_source  # type: ignore[union-attr]
    assert he.references.canonical and he.references.canonical.startswith(he.original["prompt"])


def test_unknown_benchmark_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="known: seccodeplt, seccodeplt-plus, safesql, apps-plus, humaneval"):
        parse_benchmark("mbpp")
    assert parse_benchmark("APPS+") is Benchmark.APPS_PLUS


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_tasks("safesql", "dev")


def test_missing_data_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="nowhere.*REALCODE_DATA"):
        load_tasks("safesql", data=missing)
    with pytest.raises(DataError, match="safesql/test.jsonl"):
        load_tasks("safesql", "test", data=tmp_path)


def test_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    src = data_dir() / "safesql" / "test.jsonl"
    lines = src.read_text().splitlines()[:3]
    bad = tmp_path / "rows.jsonl"
    bad.write_text(lines[0] + "\n" + lines[1][:50] + "\n")
    with pytest.raises(DataError, match=r"rows\.jsonl:2: malformed JSON"):
        load_tasks("safesql", data=bad)
    row = json.loads(lines[2])
    del row["construct_db"]
    bad.write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"rows\.jsonl:2: malformed safesql row \(KeyError"):
        load_tasks("safesql", data=bad)


def test_user_file_loads_with_its_own_split(tmp_path: Path) -> None:
    src = data_dir() / "apps_plus" / "test.jsonl"
    mine = tmp_path / "apps_train.jsonl"
    mine.write_text("".join(src.read_text().splitlines(keepends=True)[:5]))
    tasks = load_tasks("apps-plus", "train", data=mine)
    assert len(tasks) == 5 and all(t.split == "train" for t in tasks)


def test_plain_template_names_entry() -> None:
    task = load_tasks("apps-plus")[0]
    text = render_prompt(task, "plain")[0].content
    assert task.entry.name is not None and task.entry.name in text and "```python" in text
    with pytest.raises(ValueError, match="known: real, plain"):
        render_prompt(task, "fancy")  # type: ignore[arg-type]
