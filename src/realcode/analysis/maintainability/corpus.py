"""A varied corpus of snippets for the batched-vs-per-file mypy agreement study.

Hand-written fragments cover what trips a batching checker or what models write: classes, generics,
protocols, dataclasses, async code, decorators, Optional misuse, missing returns, untyped definitions,
typing imports, many error codes, and module-system corner cases (relative imports, ``TYPE_CHECKING``,
imports of names like the checker's own module names, stdlib shadowing, ``__future__``, syntax errors
of several kinds). ``agreement_corpus()`` returns every fragment alone, pairs of fragments joined into one
module (so errors interact: redefinitions, shared names), and truncated fragments (the syntax errors of
cut-off completions), in a fixed order.
"""

from __future__ import annotations

import random

FRAGMENTS: tuple[str, ...] = (
    # --- clean, fully annotated -------------------------------------------------------------------
    """def add(a: int, b: int) -> int:
    return a + b
""",
    """from dataclasses import dataclass, field


@dataclass
class Point:
    x: float
    y: float
    tags: list[str] = field(default_factory=list)

    def norm(self) -> float:
        return (self.x**2 + self.y**2) ** 0.5
""",
    """from typing import Generic, TypeVar

T = TypeVar("T")


class Stack(Generic[T]):
    def __init__(self) -> None:
        self._items: list[T] = []

    def push(self, item: T) -> None:
        self._items.append(item)

    def pop(self) -> T:
        return self._items.pop()
""",
    """from typing import Protocol


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


class English:
    def greet(self, name: str) -> str:
        return f"Hello {name}"


def welcome(g: Greeter) -> str:
    return g.greet("world")


print(welcome(English()))
""",
    """import asyncio


async def fetch(n: int) -> int:
    await asyncio.sleep(0)
    return n * 2


async def main() -> list[int]:
    return list(await asyncio.gather(*(fetch(i) for i in range(3))))
""",
    """from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def logged(fn: Callable[P, R]) -> Callable[P, R]:
    @wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    return inner


@logged
def square(x: int) -> int:
    return x * x
""",
    """from enum import Enum


class Color(Enum):
    RED = 1
    GREEN = 2


def is_red(c: Color) -> bool:
    return c is Color.RED
""",
    """from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


def count(n: int) -> "Iterator[int]":
    yield from range(n)
""",
    """class Solution:
    def twoSum(self, nums: list[int], target: int) -> list[int]:
        seen: dict[int, int] = {}
        for i, n in enumerate(nums):
            if target - n in seen:
                return [seen[target - n], i]
            seen[n] = i
        return []
""",
    """from typing import NamedTuple, TypedDict


class Pair(NamedTuple):
    left: int
    right: int


class Movie(TypedDict):
    title: str
    year: int


def first(p: Pair) -> int:
    return p.left


m: Movie = {"title": "x", "year": 1999}
""",
    """from typing import overload


@overload
def double(x: int) -> int: ...
@overload
def double(x: str) -> str: ...
def double(x: int | str) -> int | str:
    return x * 2
""",
    """from contextlib import contextmanager
from collections.abc import Iterator


@contextmanager
def opened(path: str) -> Iterator[int]:
    yield len(path)


with opened("a.txt") as n:
    print(n + 1)
""",
    """import re


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def match_year(s: str) -> int | None:
    m = re.match(r"(\\d{4})", s)
    return int(m.group(1)) if m else None
""",
    # --- untyped definitions (no-untyped-def, no-untyped-call) -------------------------------------
    """def solve(n):
    return sum(range(n))
""",
    """def helper(x):
    return x + 1


def main() -> int:
    return helper(2)
""",
    """class Counter:
    def __init__(self):
        self.n = 0

    def incr(self, by=1):
        self.n += by
        return self.n
""",
    """def partial(a: int, b):
    return a + b
""",
    """import functools


def memo(fn):
    cache = {}

    @functools.wraps(fn)
    def inner(*args):
        if args not in cache:
            cache[args] = fn(*args)
        return cache[args]

    return inner


@memo
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)
""",
    # --- Optional misuse (union-attr, operator, arg-type) ------------------------------------------
    """from typing import Optional


def length(s: Optional[str]) -> int:
    return len(s)
""",
    """from typing import Optional


def upper(s: Optional[str]) -> str:
    return s.upper()
""",
    """def find(xs: list[int], v: int) -> int | None:
    for i, x in enumerate(xs):
        if x == v:
            return i
    return None


pos = find([1, 2], 2) + 1
""",
    """def greet(name: str = None) -> str:
    return "hi " + name
""",
    # --- missing returns, wrong returns -----------------------------------------------------------
    """def sign(x: int) -> int:
    if x > 0:
        return 1
    elif x < 0:
        return -1
""",
    """def name() -> str:
    return 42
""",
    """def nothing() -> None:
    return 1
""",
    """from typing import Any


def load(s: str) -> int:
    data: Any = eval(s)
    return data
""",
    # --- assignments, calls, attributes, indexing --------------------------------------------------
    """x: int = "seven"
y: list[str] = [1, 2, 3]
""",
    """def f(a: int) -> int:
    return a


f("1")
f(1, 2)
f(b=3)
""",
    """class A:
    def m(self) -> int:
        return 1


A().missing()
A.m()
""",
    """d: dict[str, int] = {}
d[1] = 2
t = (1, 2)
t[5]
""",
    """import math

print(math.tau + "x")
print(undefined_name)
""",
    """from typing import Final

LIMIT: Final = 10
LIMIT = 11
""",
    """class Base:
    def run(self, x: int) -> int:
        return x


class Child(Base):
    def run(self, x: str) -> int:
        return len(x)
""",
    """from abc import ABC, abstractmethod


class Shape(ABC):
    @abstractmethod
    def area(self) -> float: ...


s = Shape()
""",
    """from typing import Literal


def mode(m: Literal["r", "w"]) -> str:
    return m


mode("x")
""",
    """def total(xs):
    s = 0
    for x in xs:
        s += x
    return s


print(total([1, 2]))
""",
    """items = []
lookup = {}
""",
    """import json


def parse(s: str) -> dict[str, int]:
    return json.loads(s)
""",
    """from typing import cast

x = cast(int, 3)
y = cast(str, "a")  # type: ignore
""",
    """def g(x: int) -> int:
    return x  # type: ignore[return-value]
""",
    """import os

path = os.environ.get("HOME")
print(path.split("/"))
""",
    """from typing import Callable


def apply(f: Callable, x: int) -> int:
    return f(x)
""",
    """def pairs(n: int) -> list[tuple]:
    return [(i, i) for i in range(n)]
""",
    """class Node:
    def __init__(self, val: int, next: "Node" = None) -> None:
        self.val = val
        self.next = next
""",
    """import random


def roll() -> int:
    return random.choice([1, 2, "3"])
""",
    """async def work() -> int:
    return 1


def sync() -> int:
    return work()
""",
    """from dataclasses import dataclass


@dataclass(frozen=True)
class P:
    x: int


p = P(1)
p.x = 2
P("a")
""",
    """from typing import Iterator


def gen() -> Iterator[str]:
    yield 1
""",
    """def f(*args, **kwargs) -> None:
    pass
""",
    """x = 1
x = "a"
reveal_type(x)
""",
    """a = [1, 2, 3]
b = a.sort()
c = b + [4]
""",
    """import collections

c = collections.Counter("abc")
c["a"] = "b"
""",
    """def outer() -> int:
    def inner(y):
        return y * 2

    return inner(3)
""",
    """lam = lambda x: x + 1
print(lam(2))
""",
    """class Tree:
    def __init__(self) -> None:
        self.children = []

    def add(self, t: "Tree") -> None:
        self.children.append(t)
""",
    """import typing

def k(x: typing.List[int]) -> typing.Dict[str, int]:
    return {str(i): i for i in x}
""",
    """from typing import *


def h(x: List[int]) -> Optional[int]:
    return x[0] if x else None
""",
    """def unreachable(x: int) -> int:
    return x
    print("never")
""",
    """def compare(a: int, b: str) -> bool:
    return a == b
""",
    # --- per-module configuration inside the snippet -------------------------------------------------
    """# type: ignore
def untyped(x):
    return x
""",
    """# mypy: disable-error-code="no-untyped-def"
def untyped(x):
    return x + "a"
""",
    """# mypy: ignore-errors
x: int = "no"
""",
    """import sys

if sys.version_info >= (3, 12):
    from typing import override
else:
    def override(f):
        return f
""",
    """from typing import assert_type, final


@final
class Leaf:
    pass


class Sub(Leaf):
    pass


assert_type(1, str)
""",
    """def locals_demo(a: int) -> None:
    b = str(a)
    reveal_locals()
""",
    """from os.path import *

print(join("a", "b"), exists)
""",
    """def __getattr__(name: str) -> int:
    return 1


value: int = missing_attribute
""",
    # --- module-system corner cases ----------------------------------------------------------------
    """from . import sibling

print(sibling)
""",
    """from .helpers import util
""",
    """import solution

print(solution)
""",
    """import realcode_snippet_0001
import realcode_snippet_0002 as other
""",
    """import realcode_solo_0

print(realcode_solo_0)
""",
    """import tmp
from tmpabc import x
""",
    """import numpy as np

a: np.ndarray = np.zeros(3)
print(a.sum())
""",
    """import yaml

print(yaml.safe_load("a: 1"))
""",
    """import requests

r = requests.get("http://example.com")
""",
    """import __main__

print(__main__.__file__)
""",
    """from __future__ import annotations


def f(x: int) -> list[int]:
    return [x]
""",
    """x = 1
from __future__ import annotations
""",
    """__all__ = ["missing"]


def present() -> None:
    pass
""",
    """if __name__ == "__main__":
    import sys

    print(sys.argv[1] + 1)
""",
    """def run() -> None:
    nonlocal_value = 1
    global counter
    counter = nonlocal_value
""",
    """return 5
""",
    """def f() -> None:
    yield from [] if False else None
""",
    """async def g() -> None:
    yield from []
""",
    """x = 1  # type: list[
""",
    """def f(a,):  # type: (int) -> str
    return a
""",
    """class C:
    pass


class C:
    pass
""",
    """print "hello"
""",
    """def broken(:
    pass
""",
    """x = (1,
y = 2
""",
    """match command.split():
    case [action]:
        print(action)
    case _:
        pass
""",
    """\ufeffdef bom() -> int:
    return 1
""",
    """# -*- coding: latin-1 -*-
s: str = "caf\u00e9"
""",
    """def tabs() -> int:
\treturn 1
""",
    "",
    "\n\n\n",
    '''"""Only a docstring."""
''',
)


def _truncate(code: str, rng: random.Random) -> str:
    """Cut a fragment mid-way, as a completion that hit its token limit would be."""
    if len(code) < 20:
        return code + "("
    cut = rng.randrange(len(code) // 3, len(code) - 5)
    return code[:cut]


def agreement_corpus(pairs: int = 150, truncated: int = 40, seed: int = 0) -> list[str]:
    """Every fragment alone, ``pairs`` fragments joined two by two, and ``truncated`` cut-off fragments."""
    rng = random.Random(seed)
    corpus = list(FRAGMENTS)
    n = len(FRAGMENTS)
    for _ in range(pairs):
        a, b = rng.randrange(n), rng.randrange(n)
        corpus.append(FRAGMENTS[a] + "\n\n" + FRAGMENTS[b])
    for _ in range(truncated):
        corpus.append(_truncate(FRAGMENTS[rng.randrange(n)], rng))
    return corpus
