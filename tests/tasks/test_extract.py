from __future__ import annotations

import pytest

from realcode.tasks import extract_code

TWO_BLOCKS = """Here is a first try:
```python
def f():
    return 1
```
and the final one:
```python
def f():
    return 2
```
"""


def test_last_is_reals_rule_and_first_is_first() -> None:
    assert extract_code(TWO_BLOCKS, "last").code == "def f():\n    return 2\n"
    assert extract_code(TWO_BLOCKS, "first").code == "def f():\n    return 1\n"
    assert extract_code(TWO_BLOCKS).blocks == 2


def test_python_tagged_blocks_win_over_others() -> None:
    text = "```python\nx = 1\n```\n```bash\nrm -rf /\n```\n```\nplain\n```"
    assert extract_code(text, "last").code == "x = 1\n"


def test_untagged_block_is_used_when_no_python_block() -> None:
    assert extract_code("```\ny = 2\n```", "last").code == "y = 2\n"


@pytest.mark.parametrize("text", ["", "   ", None, "I cannot help with that.", "```python\n\n```"])
def test_no_code_is_explicit(text: str | None) -> None:
    result = extract_code(text)
    assert result.code is None and not result.found and result.reason


def test_other_language_only_says_so() -> None:
    result = extract_code("```js\nconsole.log(1)\n```")
    assert result.code is None and "js" in result.reason


def test_unclosed_block_counts_to_the_end() -> None:
    result = extract_code("Sure:\n```python\ndef g():\n    return 3")
    assert result.code == "def g():\n    return 3\n" and "unclosed" in result.reason


def test_raw_mode() -> None:
    assert extract_code("def h(): pass", "raw").code == "def h(): pass\n"
    assert extract_code("```python\nz = 3\n```", "raw").code == "z = 3\n"


def test_longer_fences_and_tildes() -> None:
    assert extract_code("````python\na = '```'\n````").code == "a = '```'\n"
    assert extract_code("~~~py\nb = 1\n~~~").code == "b = 1\n"
