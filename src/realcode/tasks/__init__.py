"""Benchmark tasks: one :class:`Task` model, loaders per benchmark, prompt rendering and code extraction."""

from realcode.tasks.extract import ExtractedCode, extract_code, fence
from realcode.tasks.loaders import BENCHMARKS, load_task_index, load_tasks, parse_benchmark, splits
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
from realcode.tasks.paths import DataError, data_dir
from realcode.tasks.prompts import render_prompt

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "ChatMessage",
    "DataError",
    "Entry",
    "EntryKind",
    "ExtractedCode",
    "References",
    "Task",
    "TestCase",
    "TestGroup",
    "data_dir",
    "extract_code",
    "fence",
    "load_task_index",
    "load_tasks",
    "parse_benchmark",
    "render_prompt",
    "splits",
]
