"""Extracting code from a model's completion.

Modes:

* ``last`` (REAL's rule): the last fenced block tagged ``python``/``py``/``python3``; if the completion has no
  tagged block, the last untagged fenced block.
* ``first``: the same, but the first block.
* ``raw``: the whole completion is the code (fences, if any, are stripped from a single block answer).

A block left open at the end of the completion (the model hit its token limit) counts, up to the end.
"No code found" is an explicit result (:attr:`ExtractedCode.found` is False, ``code`` is None), never ``""``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ExtractMode = Literal["last", "first", "raw"]

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_PYTHON_TAGS = {"python", "py", "python3", "py3"}


@dataclass(frozen=True)
class CodeBlock:
    language: str  # lower-cased info string ("" when untagged)
    code: str
    closed: bool


@dataclass(frozen=True)
class ExtractedCode:
    """The result of extraction: the code, or why there is none."""

    code: str | None
    mode: ExtractMode
    blocks: int  # fenced blocks seen in the completion
    reason: str = ""  # why nothing was found, or which block was taken

    @property
    def found(self) -> bool:
        return self.code is not None


def fence(code: str) -> str:
    """``code`` as a model answer: one ```python block (what :func:`extract_code` takes back out)."""
    return f"```python\n{code.rstrip()}\n```"


def find_blocks(text: str) -> list[CodeBlock]:
    """All fenced code blocks of ``text`` in order (an unclosed last block included)."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            break
        fence, lang = m.group(1), m.group(2).lower()
        start = m.end() + 1
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        end_m = close.search(text, start) if start <= len(text) else None
        if end_m is None:
            blocks.append(CodeBlock(lang, text[start:], closed=False))
            break
        blocks.append(CodeBlock(lang, text[start : end_m.start()], closed=True))
        pos = end_m.end()
    return blocks


def extract_code(completion: str | None, mode: ExtractMode = "last") -> ExtractedCode:
    """Extract the code of ``completion`` according to ``mode`` (see the module docstring)."""
    if completion is None or not completion.strip():
        return ExtractedCode(None, mode, 0, "empty completion")
    blocks = find_blocks(completion)
    if mode == "raw":
        if len(blocks) == 1 and completion.strip().startswith(("```", "~~~")):
            code = blocks[0].code
        else:
            code = completion
        return _result(code, mode, len(blocks), "whole completion")
    if not blocks:
        return ExtractedCode(None, mode, 0, "no fenced code block")
    tagged = [b for b in blocks if b.language in _PYTHON_TAGS]
    pool = tagged or [b for b in blocks if b.language == ""]
    if not pool:
        langs = sorted({b.language for b in blocks})
        return ExtractedCode(None, mode, len(blocks), f"no python block (blocks tagged {', '.join(langs)})")
    block = pool[-1] if mode == "last" else pool[0]
    which = "last" if mode == "last" else "first"
    kind = "python" if tagged else "untagged"
    note = f"{which} {kind} block of {len(blocks)}" + ("" if block.closed else " (unclosed)")
    return _result(block.code, mode, len(blocks), note)


def _result(code: str, mode: ExtractMode, blocks: int, note: str) -> ExtractedCode:
    if not code.strip():
        return ExtractedCode(None, mode, blocks, "code block is empty")
    return ExtractedCode(code.strip("\n") + "\n", mode, blocks, note)
