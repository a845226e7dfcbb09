"""Generation throughput of the tiny model on CPU: the ``hf`` back-end against ``openai`` over loopback.

The HTTP side runs our OpenAI-compatible server in a separate process on 127.0.0.1 serving the same
checkpoint, so the figure includes JSON, HTTP and the server's request batching, but no network. Each
configuration is warmed up once, then timed ``--repeats`` times with the two back-ends taking turns; the
table gives medians, and the median of the per-repeat ratio of HTTP to local throughput.

Run: ``python -m realcode.generation.bench --json generation.json`` (or ``realcode bench generation`` once
the CLI registers it).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from realcode.generation.types import Generator, SamplingParams
from realcode.tasks.model import ChatMessage

__all__ = ["command", "measure"]

# Eight coding requests of different lengths, so that batches carry real padding.
PROMPTS = [
    "Write a Python function is_even(n) that returns True when n is even.",
    "Implement binary search over a sorted list; return the index or -1.",
    "Write a function that reads a CSV file and returns a list of dicts, one per row, keyed by the header.",
    "Parse an ISO 8601 date string and return the weekday name.",
    "Write a function that safely joins a user-supplied file name to a base directory and refuses paths that "
    "escape it, raising ValueError with a clear message.",
    "Return the n-th Fibonacci number iteratively.",
    "Write a function that deduplicates a list while keeping the first occurrence of each item.",
    "Given a SQLite connection and a user name, return that user's row using a parameterised query.",
]


def _chats(count: int) -> list[list[ChatMessage]]:
    system = ChatMessage(role="system", content="You are a careful Python programmer.")
    return [[system, ChatMessage(role="user", content=PROMPTS[i % len(PROMPTS)])] for i in range(count)]


def _timed_batch(
    generator: Generator, chats: list[list[ChatMessage]], params: SamplingParams
) -> tuple[float, int]:
    """Wall time and new tokens of one batch."""
    started = time.perf_counter()
    result = generator.generate(chats, params)
    wall = time.perf_counter() - started
    counts = [c.completion_tokens for row in result for c in row]
    if any(c is None for c in counts):
        raise RuntimeError(f"{generator.backend} did not report token counts; cannot compute tokens/s")
    return wall, sum(c for c in counts if c is not None)


def measure(
    generators: dict[str, Generator], *, prompts: int, n: int, max_new_tokens: int, repeats: int
) -> list[dict[str, Any]]:
    """Per back-end: median wall time and tokens/s of ``repeats`` timed batches, after one warm-up batch.

    The back-ends take turns within each repeat (in alternating order), so that a burst of load from other
    processes hits both rather than one; the per-repeat ratio to the first back-end is reported too.
    """
    chats = _chats(prompts)
    names = list(generators)
    walls: dict[str, list[float]] = {name: [] for name in names}
    rates: dict[str, list[float]] = {name: [] for name in names}
    tokens: dict[str, int] = {}
    for repeat in range(repeats + 1):
        params = SamplingParams(n=n, max_new_tokens=max_new_tokens, temperature=1.0, seed=repeat)
        for name in names if repeat % 2 == 0 else reversed(names):
            wall, tokens[name] = _timed_batch(generators[name], chats, params)
            if repeat:  # the first round is a warm-up (allocations, thread pools, connections)
                walls[name].append(wall)
                rates[name].append(tokens[name] / wall)
    base = names[0]
    return [
        {
            "backend": name,
            "prompts": prompts,
            "n": n,
            "max_new_tokens": max_new_tokens,
            "tokens_per_batch": tokens[name],
            "repeats": repeats,
            "median_wall_s": statistics.median(walls[name]),
            "median_tokens_per_s": statistics.median(rates[name]),
            "min_tokens_per_s": min(rates[name]),
            "max_tokens_per_s": max(rates[name]),
            f"median_ratio_to_{base}": statistics.median(
                r / b for r, b in zip(rates[name], rates[base], strict=True)
            ),
        }
        for name in names
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server_process(model: Path, batch_size: int, batch_wait_ms: float) -> Iterator[str]:
    import httpx

    port = _free_port()
    command = [
        sys.executable, "-m", "realcode.generation.openai_server",
        "--model", str(model), "--port", str(port), "--max-batch", str(batch_size),
        "--batch-wait-ms", str(batch_wait_ms),
    ]  # fmt: skip
    # The server imports the same realcode as this process, installed or not.
    source_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONPATH": python_path}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 120 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def command(
    json_path: Path | None = typer.Option(None, "--json", help="write the figures here as JSON"),
    model: Path | None = typer.Option(None, help="model directory (default: the offline tiny model)"),
    repeats: int = typer.Option(5, min=1, help="timed batches per configuration"),
    max_new_tokens: int = typer.Option(64, min=1),
    prompts: int = typer.Option(8, min=1, help="prompts per batch"),
    batch_wait_ms: float = typer.Option(50.0, min=0.0, help="the server's --batch-wait-ms"),
) -> None:
    """Tokens/s of a batch of prompts: the hf back-end in-process vs the openai back-end over loopback."""
    from rich.console import Console
    from rich.table import Table

    from realcode.generation.backend_hf import HFGenerator
    from realcode.generation.backend_openai import OpenAIGenerator
    from realcode.training.tiny import default_tiny_model

    model_dir = model or default_tiny_model()
    rows: list[dict[str, Any]] = []
    configs = [(prompts, 1), (prompts, 4)]
    batch_size = max(p * n for p, n in configs)
    with (
        HFGenerator(model_dir, device="cpu", batch_size=batch_size) as local,
        _server_process(model_dir, batch_size, batch_wait_ms) as base_url,
        OpenAIGenerator(str(model_dir), base_url=base_url, max_concurrency=prompts) as remote,
    ):
        generators: dict[str, Generator] = {"hf": local, "openai (loopback)": remote}
        for p, n in configs:
            rows.extend(measure(generators, prompts=p, n=n, max_new_tokens=max_new_tokens, repeats=repeats))

    table = Table(title=f"Generation throughput, tiny model on CPU ({model_dir.name}), medians of {repeats}")
    for column in (
        "back-end",
        "prompts x n",
        "new tokens",
        "median wall s",
        "median tokens/s",
        "range tokens/s",
        "tokens/s vs hf",
    ):
        table.add_column(column, justify="left" if column == "back-end" else "right")
    for row in rows:
        table.add_row(
            row["backend"],
            f"{row['prompts']} x {row['n']}",
            str(row["tokens_per_batch"]),
            f"{row['median_wall_s']:.3f}",
            f"{row['median_tokens_per_s']:.0f}",
            f"{row['min_tokens_per_s']:.0f}-{row['max_tokens_per_s']:.0f}",
            f"{row['median_ratio_to_hf']:.2f}",
        )
    Console().print(table)
    figures = {
        "bench": "generation",
        "model": str(model_dir),
        "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
        "cpu_count": os.cpu_count(),
        "server_batch_wait_ms": batch_wait_ms,
        "rows": rows,
    }
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(command)
