"""Prompt rendering: REAL's templates exactly (for reproduction) and a plain template of our own."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from realcode.tasks.model import ChatMessage, EntryKind, Task

TemplateName = Literal["real", "plain"]
TEMPLATES: tuple[TemplateName, ...] = ("real", "plain")


@cache
def _template(name: str) -> str:
    return resources.files("realcode.tasks").joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def real_seccodeplt_prompt(description: dict[str, Any]) -> str:
    """REAL's SecCodePLT+ prompt for a row's ``task_description`` (unified template around the problem template)."""
    problem = _template("real_seccodeplt_problem.txt").format(
        description.get("description", ""),
        description.get("function_name", ""),
        description.get("arguments", ""),
        description.get("return", ""),
        description.get("raise", ""),
        description.get("context", ""),
    )
    return _template("real_seccodeplt_unified.txt").format(problem, "")


def plain_prompt(task: Task) -> str:
    """Our own template: the task in prose, what to write, and one fenced block as the answer format."""
    entry = task.entry
    if entry.kind is EntryKind.PROGRAM:
        what = "Write a complete Python program that reads its input with input() and prints its result."
    elif entry.kind is EntryKind.METHOD:
        what = f"Write a Python class `{entry.class_name}` with a method `{entry.name}`."
    else:
        what = f"Write a Python function `{entry.name}`."
    starter = task.metadata.get("starter_code") or ""
    parts = [what, "", task.description.strip()]
    if starter.strip():
        parts += ["", "Start from:", "```python", starter.rstrip(), "```"]
    parts += ["", "Answer with the complete code in a single ```python block."]
    return "\n".join(parts)


def render_prompt(task: Task, template: TemplateName = "real") -> list[ChatMessage]:
    """The chat messages for ``task``.

    ``real`` reproduces REAL's prompts (the benchmark rows' own prompts where they carry one, REAL's SecCodePLT
    template otherwise; HumanEval, which REAL does not use, gets the plain template). ``plain`` is ours.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown prompt template {template!r}; known: {', '.join(TEMPLATES)}")
    if template == "real":
        row_prompt = task.original.get("prompt")
        if isinstance(row_prompt, list) and row_prompt:
            return [ChatMessage(role=m["role"], content=m["content"]) for m in row_prompt]
        desc = task.original.get("task_description")
        if isinstance(desc, dict):
            return [ChatMessage(role="user", content=real_seccodeplt_prompt(desc))]
    return [ChatMessage(role="user", content=plain_prompt(task))]
