"""Loaders: benchmark rows -> :class:`~realcode.tasks.model.Task`.

Data comes from the benchmark data directory (:func:`realcode.tasks.paths.data_dir`) by default, or from any
path the caller gives: a data directory, a single ``.jsonl``/``.json``/``.parquet`` file, or (for APPS+ and
the other Hugging Face releases) a dataset id such as ``fengyao1909/APPS_Plus`` loaded with ``datasets``.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from realcode.tasks.model import (
    Benchmark,
    ChatMessage,
    Entry,
    EntryKind,
    References,
    Task,
    TestCase,
    TestGroup,
)
from realcode.tasks.paths import DataError, data_dir, read_jsonl
from realcode.tasks.prompts import plain_prompt, real_seccodeplt_prompt

PathLike = str | os.PathLike[str]

BENCHMARKS: tuple[str, ...] = tuple(b.value for b in Benchmark)

# Default files inside the data directory, per benchmark and split.
_FILES: dict[Benchmark, dict[str, tuple[str, ...]]] = {
    Benchmark.SECCODEPLT: {"all": ("seccodeplt", "full_1345.jsonl")},
    Benchmark.SECCODEPLT_PLUS: {
        "train": ("seccodeplt", "plus_train.jsonl"),
        "test": ("seccodeplt", "plus_test.jsonl"),
    },
    Benchmark.SAFESQL: {"train": ("safesql", "train.jsonl"), "test": ("safesql", "test.jsonl")},
    Benchmark.APPS_PLUS: {"test": ("apps_plus", "test.jsonl")},
    Benchmark.HUMANEVAL: {"test": ("humaneval", "HumanEval.jsonl.gz")},
}

# Hugging Face ids of the releases, for users who point a loader at the hub.
HF_DATASETS: dict[Benchmark, str] = {
    Benchmark.SECCODEPLT_PLUS: "fengyao1909/SecCodePLT_Plus",
    Benchmark.SAFESQL: "fengyao1909/SafeSQL",
    Benchmark.APPS_PLUS: "fengyao1909/APPS_Plus",
    Benchmark.HUMANEVAL: "openai/openai_humaneval",
}

# SecCodePLT's extra splits over the full release: REAL's train/test of the tested rows, or by kind.
_SECCODEPLT_SPLITS = ("all", "tested", "rule", "train", "test")


def parse_benchmark(name: str) -> Benchmark:
    """The :class:`Benchmark` called ``name``; a :class:`ValueError` listing the known ones otherwise."""
    aliases = {"seccodeplt+": "seccodeplt-plus", "apps+": "apps-plus", "apps": "apps-plus"}
    key = aliases.get(name.lower(), name.lower())
    try:
        return Benchmark(key)
    except ValueError:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}") from None


def splits(benchmark: str | Benchmark) -> tuple[str, ...]:
    """Splits a benchmark offers from the built-in data."""
    b = parse_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    if b is Benchmark.SECCODEPLT:
        return _SECCODEPLT_SPLITS
    return tuple(_FILES[b])


def load_tasks(benchmark: str | Benchmark, split: str | None = None, data: PathLike | None = None) -> list[Task]:
    """Load a benchmark's tasks.

    ``split`` None means every split the built-in data has (train and test together). ``data`` is a data
    directory, a file, or a Hugging Face dataset id; None uses the built-in data directory.
    """
    b = parse_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    known = splits(b)
    if split is not None and split not in known and not _is_external(data):
        raise ValueError(f"unknown split {split!r} for {b.value}; known: {', '.join(known)}")
    rows = list(_rows(b, split, data))
    build = _BUILDERS[b]
    tasks: list[Task] = []
    for source, lineno, row, row_split in rows:
        try:
            task = build(row, row_split)
        except (KeyError, TypeError, ValueError, SyntaxError, json.JSONDecodeError) as exc:
            raise DataError(f"{source}:{lineno}: malformed {b.value} row ({type(exc).__name__}: {exc})") from None
        if b is Benchmark.SECCODEPLT and split not in (None, "all"):
            if split == "tested" and not task.has_tests:
                continue
            if split == "rule" and task.has_tests:
                continue
            if split in ("train", "test") and task.split != split:
                continue
        tasks.append(task)
    return tasks


def _is_external(data: PathLike | None) -> bool:
    return data is not None and not Path(data).is_dir()


def _rows(b: Benchmark, split: str | None, data: PathLike | None) -> Iterator[tuple[str, int, dict[str, Any], str]]:
    """(source, line, row, split) for every row to load."""
    if data is not None and not Path(data).is_dir():
        path = Path(data)
        if path.is_file():
            yield from ((str(path), n, row, split or _row_split(row)) for n, row in _read_any(path))
            return
        if re.fullmatch(r"[\w.-]+/[\w.-]+", str(data)):
            yield from _hub_rows(str(data), split or "train")
            return
        raise DataError(
            f"data path {str(data)!r} does not exist (and is not a Hugging Face dataset id); "
            "pass --data PATH or set REALCODE_DATA to the benchmark data folder"
        )
    root = data_dir(data)
    files = _FILES[b]
    wanted = [split] if split in files else list(files)
    for s in wanted:
        path = root.joinpath(*files[s])
        if not path.is_file():
            raise DataError(f"data file {str(path)!r} is missing; pass --data PATH or set REALCODE_DATA")
        for n, row in read_jsonl(path):
            yield str(path), n, row, s


def _row_split(row: dict[str, Any]) -> str:
    extra = row.get("extra_info")
    if isinstance(extra, dict) and isinstance(extra.get("split"), str):
        return str(extra["split"])
    return str(row.get("split") or "all")


def _read_any(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if path.suffix in (".jsonl", ".gz"):
        yield from read_jsonl(path)
    elif path.suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        if not isinstance(rows, list):
            raise DataError(f"{path}: expected a JSON list of rows")
        yield from enumerate(rows, 1)
    elif path.suffix == ".parquet":
        for i, row in enumerate(_datasets().Dataset.from_parquet(str(path)), 1):
            yield i, dict(row)
    else:
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (use .jsonl, .json or .parquet)")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(
            "reading parquet files or Hugging Face dataset ids needs the `datasets` package: "
            "pip install 'realcode[train]' (or pip install datasets)"
        ) from None
    return datasets


def _hub_rows(dataset_id: str, split: str) -> Iterator[tuple[str, int, dict[str, Any], str]]:
    ds = _datasets()
    try:
        rows = ds.load_dataset(dataset_id, split=split)
    except Exception as exc:  # the hub client raises many types; the message is what matters
        raise DataError(
            f"could not load Hugging Face dataset {dataset_id!r} split {split!r}: {exc}. "
            "Offline (HF_HUB_OFFLINE=1) only cached datasets load; download it or pass a local file"
        ) from None
    for i, row in enumerate(rows, 1):
        yield f"hf:{dataset_id}", i, dict(row), split


# --- SecCodePLT --------------------------------------------------------------------------------------------


def _function_parameters(code: str, name: str) -> list[str]:
    """Parameter names of function ``name`` defined in ``code`` (which may be an unfinished header)."""
    candidates = [code, code.rstrip() + "\n    pass\n"]
    for src in candidates:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                a = node.args
                params = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                params += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
                return [p for p in params if p not in ("self", "cls")]
    return []


def _testcase_groups(source: str) -> list[TestGroup]:
    """SecCodePLT ``unittest.testcases`` source -> groups. Inputs and expected values stay separate."""
    if not source.strip():
        return []
    tree = ast.parse(source)
    assign: ast.Assign | None = None
    preamble: list[ast.stmt] = []
    for stmt in tree.body:
        if (
            assign is None
            and isinstance(stmt, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "testcases" for t in stmt.targets)
        ):
            assign = stmt
        else:
            preamble.append(stmt)
    if assign is None or not isinstance(assign.value, ast.Dict):
        raise ValueError("testcases source does not assign a dict literal to `testcases`")
    pre_src = "\n".join(ast.get_source_segment(source, s) or ast.unparse(s) for s in preamble)
    groups: list[TestGroup] = []
    for key, value in zip(assign.value.keys, assign.value.values, strict=True):
        if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            raise ValueError("testcases keys must be string literals")
        if not isinstance(value, ast.List | ast.Tuple):
            raise ValueError(f"testcases[{key.value!r}] is not a list")
        cases: list[TestCase] = []
        for i, item in enumerate(value.elts):
            if not isinstance(item, ast.Tuple | ast.List) or len(item.elts) != 2:
                raise ValueError(f"testcases[{key.value!r}][{i}] is not an (inputs, expected) pair")
            inp, exp = item.elts
            case = TestCase(
                name=f"{key.value}/{i}",
                input_source=ast.get_source_segment(source, inp) or ast.unparse(inp),
            )
            try:
                case.expected = ast.literal_eval(exp)
            except (ValueError, SyntaxError, TypeError):
                case.expected_source = ast.get_source_segment(source, exp) or ast.unparse(exp)
            cases.append(case)
        groups.append(TestGroup(name=key.value, cases=cases, preamble=pre_src, security=key.value == "safety"))
    return groups


def _seccodeplt_task(row: dict[str, Any], split: str, benchmark: Benchmark) -> Task:
    desc = row["task_description"]
    gt = row["ground_truth"]
    unittest = row.get("unittest") or {}
    name = desc["function_name"]
    before, after = gt.get("code_before", ""), gt.get("code_after", "")
    if benchmark is Benchmark.SECCODEPLT:
        split = row.get("real_split") or ("rule" if row.get("use_rule") else "all")
    extra: dict[str, Any] = row["extra_info"] if isinstance(row.get("extra_info"), dict) else {}
    prompt_rows = row.get("prompt")
    if isinstance(prompt_rows, list) and prompt_rows:
        prompt = [ChatMessage(role=m["role"], content=m["content"]) for m in prompt_rows]
    else:
        prompt = [ChatMessage(role="user", content=real_seccodeplt_prompt(desc))]
    cwe = str(row["CWE_ID"])
    # Full-release rows carry no id: REAL's id where the row is in REAL's split, else the row index.
    task_id = row.get("id") or row.get("real_id") or f"seccodeplt-{row['index']}"
    return Task(
        id=str(task_id),
        benchmark=benchmark,
        split=split,
        prompt=prompt,
        entry=Entry(kind=EntryKind.FUNCTION, name=name, parameters=_function_parameters(before, name)),
        tests=_testcase_groups(unittest.get("testcases") or ""),
        setup=unittest.get("setup") or "",
        code_before=before,
        code_after=after,
        references=References(
            patched=f"{before}{gt['patched_code']}{after}",
            vulnerable=f"{before}{gt['vulnerable_code']}{after}",
        ),
        cwe=[f"CWE-{cwe}"],
        description=desc.get("description", ""),
        metadata={
            "security_policy": desc.get("security_policy", ""),
            "install_requires": list(row.get("install_requires") or []),
            "rule": row.get("rule"),
            "use_rule": bool(row.get("use_rule")),
            "real_id": row.get("real_id") or extra.get("index"),
        },
        original=row,
    )


# --- SafeSQL -----------------------------------------------------------------------------------------------

_CONNECT = re.compile(r"""sqlite3\.connect\(\s*(['"])([^'"]+)\1""")


def _safesql_task(row: dict[str, Any], split: str) -> Task:
    cases = [
        TestCase(name=f"io/{i}", stdin=c["input"], expected_stdout=c["output"])
        for i, c in enumerate(row["test_cases"])
    ]
    attacks = [
        TestCase(name=f"attacks/{i}", stdin=a if a.endswith("\n") else a + "\n")
        for i, a in enumerate(row.get("test_attacks") or [])
    ]
    m = _CONNECT.search(row["construct_db"])
    return Task(
        id=str(row["program_id"]),
        benchmark=Benchmark.SAFESQL,
        split=split,
        prompt=[ChatMessage(role=m_["role"], content=m_["content"]) for m_ in row["prompt"]],
        entry=Entry(kind=EntryKind.PROGRAM),
        tests=[TestGroup(name="io", cases=cases), TestGroup(name="attacks", cases=attacks, security=True)],
        db_setup=row["construct_db"],
        # The SafeSQL oracle is injectable on purpose: it is the functional reference and a vulnerable one.
        references=References(canonical=row["execute_sql"], vulnerable=row["execute_sql"]),
        cwe=["CWE-89"],
        description=row.get("task_description", ""),
        metadata={"db_file": m.group(2) if m else None},
        original=row,
    )


# --- APPS+ -------------------------------------------------------------------------------------------------


def _apps_task(row: dict[str, Any], split: str) -> Task:
    extra = row.get("extra_info") or {}
    info_src = extra.get("test_info") or row["input_output"]
    info = json.loads(info_src) if isinstance(info_src, str) else info_src
    fn = info["fn_name"]
    is_class = extra.get("program_type") == "class" or "class Solution" in (row.get("starter_code") or "")
    inputs, outputs = info["inputs"], info["outputs"]
    if len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} inputs but {len(outputs)} outputs")
    cases = [TestCase(name=f"calls/{i}", args=list(a), expected=o) for i, (a, o) in enumerate(zip(inputs, outputs, strict=True))]
    sols = row.get("solutions") or "[]"
    solutions = json.loads(sols) if isinstance(sols, str) else list(sols)
    starter = extra.get("starter_code") or row.get("starter_code") or ""
    entry = Entry(
        kind=EntryKind.METHOD if is_class else EntryKind.FUNCTION,
        name=fn,
        class_name="Solution" if is_class else None,
    )
    prompt_rows = row.get("prompt")
    task = Task(
        id=str(row["problem_id"]),
        benchmark=Benchmark.APPS_PLUS,
        split=split,
        prompt=[],
        entry=entry,
        tests=[TestGroup(name="calls", cases=cases)],
        references=References(canonical=solutions[0] if solutions else None, solutions=solutions),
        description=row.get("question", ""),
        metadata={"difficulty": row.get("difficulty"), "url": row.get("url"), "starter_code": starter},
        original=row,
    )
    if isinstance(prompt_rows, list) and prompt_rows:
        task.prompt = [ChatMessage(role=m["role"], content=m["content"]) for m in prompt_rows]
    else:
        task.prompt = [ChatMessage(role="user", content=plain_prompt(task))]
    return task


# --- HumanEval ---------------------------------------------------------------------------------------------


def _humaneval_task(row: dict[str, Any], split: str) -> Task:
    entry = Entry(
        kind=EntryKind.CHECK,
        name=row["entry_point"],
        parameters=_function_parameters(row["prompt"], row["entry_point"]),
    )
    task = Task(
        id=str(row["task_id"]),
        benchmark=Benchmark.HUMANEVAL,
        split=split if split != "all" else "test",
        prompt=[],
        entry=entry,
        tests=[TestGroup(name="check", check_source=row["test"])],
        references=References(canonical=row["prompt"] + row["canonical_solution"]),
        description=row["prompt"],
        metadata={"starter_code": row["prompt"]},
        original=row,
    )
    task.prompt = [ChatMessage(role="user", content=plain_prompt(task))]
    return task


_BUILDERS: dict[Benchmark, Callable[[dict[str, Any], str], Task]] = {
    Benchmark.SECCODEPLT: lambda row, split: _seccodeplt_task(row, split, Benchmark.SECCODEPLT),
    Benchmark.SECCODEPLT_PLUS: lambda row, split: _seccodeplt_task(row, split, Benchmark.SECCODEPLT_PLUS),
    Benchmark.SAFESQL: _safesql_task,
    Benchmark.APPS_PLUS: _apps_task,
    Benchmark.HUMANEVAL: _humaneval_task,
}


def load_task_index(benchmarks: Iterable[str], data: PathLike | None = None) -> dict[str, Task]:
    """Tasks of several benchmarks keyed by ``benchmark/id`` (for scoring mixed batches)."""
    index: dict[str, Task] = {}
    for name in benchmarks:
        for task in load_tasks(name, data=data):
            index[f"{task.benchmark.value}/{task.id}"] = task
    return index
