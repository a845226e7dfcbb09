"""Fixtures for the generation tests: the offline tiny model, models taught one answer, scripted HTTP servers.

Everything runs offline on CPU: the environment below is set before transformers is imported.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

pytest.importorskip("torch")
pytest.importorskip("transformers")

from realcode.generation.backend_hf import HFGenerator
from realcode.training.tiny import EOS_TOKEN, build_tiny_model

TEACH_PROMPTS = ("Write a function", "hello", "def f():", "Sort a list of numbers", "Parse this JSON", "x")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with default settings, built once per test session."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="session")
def hf_generator(tiny_model_dir: Path) -> Iterator[HFGenerator]:
    with HFGenerator(tiny_model_dir, device="cpu", batch_size=8) as generator:
        yield generator


def teach(source: Path, target: Path, answer: str, steps: int = 40) -> Path:
    """Fine-tune a copy of ``source`` until it answers every chat with ``answer`` then end-of-sequence.

    A real (if tiny) training run, so that tests can check end-of-sequence handling and exact texts, which
    the random tiny model never produces.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source)
    rows = []
    for prompt in TEACH_PROMPTS:
        head = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        prefix = tokenizer(head, add_special_tokens=False)["input_ids"]
        tail = tokenizer(answer + EOS_TOKEN, add_special_tokens=False)["input_ids"]
        rows.append((prefix + tail, [-100] * len(prefix) + tail))
    width = max(len(ids) for ids, _ in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in rows])
    labels = torch.tensor([[-100] * (width - len(lab)) + lab for _, lab in rows])
    attention = (
        torch.arange(width)[None, :] >= torch.tensor([width - len(ids) for ids, _ in rows])[:, None]
    ).long()
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(steps):
        loss = model(
            input_ids=input_ids, attention_mask=attention, position_ids=positions, labels=labels
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def answering_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model taught to answer ``return 42``."""
    return teach(tiny_model_dir, tmp_path_factory.mktemp("taught") / "answer", "return 42")


@pytest.fixture(scope="session")
def silent_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model taught to end its answer at once: it returns empty text."""
    return teach(tiny_model_dir, tmp_path_factory.mktemp("taught") / "silent", "")


@dataclass
class Reply:
    """What a scripted server answers to one request."""

    status: int = 200
    body: Any = None  # a dict is sent as JSON, a string as-is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


def chat_reply(texts: list[str], finish_reason: str = "stop") -> Reply:
    """A well-formed chat-completions answer with the given choice texts."""
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "scripted",
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": finish_reason}
                for i, t in enumerate(texts)
            ],
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": 3 * len(texts),
                "total_tokens": 7 + 3 * len(texts),
            },
        }
    )


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 (ephemeral port) that answers requests from a script.

    ``script`` is called with the number of the request (0, 1, ...) and returns the :class:`Reply`; every
    request is recorded in ``seen``.
    """

    def __init__(self, script: Callable[[int], Reply]) -> None:
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._lock:
                    number = len(server.seen)
                    server.seen.append(Seen(self.path, dict(self.headers), json.loads(raw or b"null")))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                reply = script(number)
                if reply.delay_s:
                    threading.Event().wait(reply.delay_s)
                with server._lock:
                    server.in_flight -= 1
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def scripted() -> Any:
    """The scripted-server tools, as a fixture: test modules do not import conftest by name."""
    from types import SimpleNamespace

    return SimpleNamespace(Server=ScriptedServer, Reply=Reply, chat_reply=chat_reply)
