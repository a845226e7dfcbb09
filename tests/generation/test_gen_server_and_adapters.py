"""The server's request batching and command line, the base class's per-seed fallback, and the vLLM adapter's
contract with vLLM's documented API (vLLM itself needs a GPU; a stand-in module plays ``vllm`` here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import realcode
from realcode.generation import Completion, Generator, SamplingParams
from realcode.generation.backend_hf import HFGenerator
from realcode.generation.backend_openai import OpenAIGenerator
from realcode.generation.openai_server import ServerThread
from realcode.tasks.model import ChatMessage


def chat(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


class CountingGenerator(Generator):
    """Wraps a real generator and records the batches the server hands it."""

    backend = "hf"

    def __init__(self, inner: HFGenerator) -> None:
        self.inner = inner
        self.model = inner.model
        self.batches: list[int] = []

    def generate(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams
    ) -> list[list[Completion]]:
        return self.generate_with_seeds(prompts, params, [params.seed] * len(prompts))

    def generate_with_seeds(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams, seeds: Sequence[int | None]
    ) -> list[list[Completion]]:
        self.batches.append(len(prompts))
        return self.inner.generate_with_seeds(prompts, params, seeds)


def test_server_batches_concurrent_requests(hf_generator: HFGenerator) -> None:
    counting = CountingGenerator(hf_generator)
    prompts = [chat(f"Write function number {i}.") for i in range(8)]
    params = SamplingParams(n=2, max_new_tokens=8, seed=4)
    # A generous collection window, so that the eight concurrent requests land in it even on a busy machine.
    with (
        ServerThread(counting, batch_wait_s=0.5) as server,
        OpenAIGenerator(counting.model, base_url=server.base_url, max_concurrency=8) as remote,
    ):
        over_http = remote.generate(prompts, params)
    assert sum(counting.batches) == 8 and len(counting.batches) < 8
    local = hf_generator.generate(prompts, params)
    assert [[c.text for c in row] for row in over_http] == [[c.text for c in row] for row in local]


def test_a_bad_request_does_not_fail_its_batch(hf_generator: HFGenerator) -> None:
    def ask(text: str) -> httpx.Response:
        body = {"messages": [{"role": "user", "content": text}], "max_tokens": 8, "seed": 1}
        return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60)

    too_long = "word " * 5000  # beyond the tiny model's 4,096-token context
    with ServerThread(hf_generator, batch_wait_s=0.5) as server, ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(ask, ["first", too_long, "third"]))
    assert [a.status_code for a in answers] == [200, 400, 200]
    error = answers[1].json()["error"]
    assert error["code"] == "context_length_exceeded" and "exceeds the model's context" in error["message"]
    local = hf_generator.generate([chat("first"), chat("third")], SamplingParams(max_new_tokens=8, seed=1))
    assert [a.json()["choices"][0]["message"]["content"] for a in (answers[0], answers[2])] == [
        row[0].text for row in local
    ]


@pytest.mark.slow
def test_server_command_line(tiny_model_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "realcode.generation.openai_server", "--model", str(tiny_model_dir),
               "--port", str(port), "--served-name", "tiny"]  # fmt: skip
    # The child imports the same realcode as this process, installed or not.
    source_root = str(Path(realcode.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120  # importing torch can take a while on a busy machine
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {process.stderr.read().decode()[-1500:]}")  # type: ignore[union-attr]
            try:
                models = httpx.get(f"{base_url}/models", timeout=1.0).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        assert [m["id"] for m in models["data"]] == ["tiny"]
        with OpenAIGenerator("tiny", base_url=base_url) as remote:
            got = remote.generate([chat("hi")], SamplingParams(n=2, max_new_tokens=3, seed=1))[0]
        assert [c.completion_tokens for c in got] == [3, 3]
    finally:
        process.terminate()
        process.wait(timeout=20)


@dataclass
class EchoGenerator(Generator):
    """A generator that answers with its seed: shows how the base class groups prompts by seed."""

    calls: list[int | None] = field(default_factory=list)
    backend: str = "echo"
    model: str = "echo"

    def generate(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams
    ) -> list[list[Completion]]:
        self.calls.append(params.seed)
        return [
            [Completion(text=f"{p[-1].content}/{params.seed}", finish_reason="stop", backend="echo", model="echo",
                        latency_s=0.0)]
            for p in prompts
        ]  # fmt: skip


def test_default_generate_with_seeds_groups_by_seed() -> None:
    echo = EchoGenerator()
    rows = echo.generate_with_seeds([chat("a"), chat("b"), chat("c")], SamplingParams(seed=99), [1, 2, 1])
    assert [row[0].text for row in rows] == ["a/1", "b/2", "c/1"]
    assert echo.calls == [1, 2]
    with pytest.raises(ValueError, match="3 prompts but 2 seeds"):
        echo.generate_with_seeds([chat("a"), chat("b"), chat("c")], SamplingParams(), [1, 2])


# --- the vLLM adapter against vLLM's documented interface -------------------------------------------------


def _stand_in_vllm(tokenizer: Any) -> tuple[ModuleType, list[dict[str, Any]]]:
    """A ``vllm`` module with the documented shapes: ``LLM(model=..., ...)``, ``LLM.get_tokenizer()``,
    ``LLM.generate(prompts, sampling_params=[...], use_tqdm=False) -> [RequestOutput]`` whose ``outputs``
    are ``CompletionOutput(index, text, token_ids, finish_reason)``; ``SamplingParams(n, temperature, top_p,
    max_tokens, seed, stop)``."""
    seen: list[dict[str, Any]] = []
    module = ModuleType("vllm")

    class SamplingParamsStandIn:
        def __init__(self, *, n: int, temperature: float, top_p: float, max_tokens: int, seed: int | None,
                     stop: list[str] | None) -> None:  # fmt: skip
            self.__dict__.update(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed,
                                 stop=stop)  # fmt: skip

    @dataclass
    class Out:
        index: int
        text: str
        token_ids: list[int]
        finish_reason: str

    @dataclass
    class RequestOutput:
        outputs: list[Out]

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            seen.append({"init": kwargs})

        def get_tokenizer(self) -> Any:
            return tokenizer

        def generate(self, prompts: list[Any], sampling_params: list[Any], use_tqdm: bool) -> list[Any]:
            seen.append({"prompts": prompts, "params": sampling_params, "use_tqdm": use_tqdm})
            return [
                RequestOutput([Out(j, f"answer {j} STOP tail", [7] * (3 + j), "length") for j in reversed(range(sp.n))])
                for sp in sampling_params
            ]  # fmt: skip

    module.LLM = LLM  # type: ignore[attr-defined]
    module.SamplingParams = SamplingParamsStandIn  # type: ignore[attr-defined]
    return module, seen


def test_vllm_adapter_follows_the_documented_api(
    hf_generator: HFGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realcode.generation import make_generator

    module, seen = _stand_in_vllm(hf_generator.tokenizer)
    monkeypatch.setitem(sys.modules, "vllm", module)
    prompts = [chat("first"), chat("second prompt")]
    with make_generator("vllm", "some/model", tensor_parallel_size=2) as gen:
        rows = gen.generate(prompts, SamplingParams(n=2, max_new_tokens=9, seed=3, stop=["STOP"]))
    init, call = seen
    assert init["init"]["model"] == "some/model" and init["init"]["tensor_parallel_size"] == 2
    assert call["use_tqdm"] is False
    # Prompts go as token ids rendered with the chat template, exactly what the hf back-end feeds its model.
    expected_ids = [
        hf_generator.tokenizer(hf_generator.render(p), add_special_tokens=False)["input_ids"] for p in prompts
    ]
    assert [p["prompt_token_ids"] for p in call["prompts"]] == expected_ids
    params = call["params"]
    assert [(p.n, p.max_tokens, p.stop) for p in params] == [(2, 9, ["STOP"])] * 2
    assert params[0].seed != params[1].seed  # each prompt has its own seed
    assert [[c.index for c in row] for row in rows] == [[0, 1], [0, 1]]
    assert rows[0][1].text == "answer 1 " and rows[0][1].finish_reason == "stop"
    assert rows[1][0].prompt_tokens == len(expected_ids[1]) and rows[1][1].completion_tokens == 4


def test_server_api_key(hf_generator: HFGenerator, monkeypatch: pytest.MonkeyPatch) -> None:
    from realcode.generation import EndpointError

    params = SamplingParams(max_new_tokens=3, seed=2)
    with ServerThread(hf_generator, api_key="s3cret") as server:
        assert httpx.get(f"{server.base_url}/models").status_code == 401
        with (
            OpenAIGenerator(hf_generator.model, base_url=server.base_url, max_retries=0) as anonymous,
            pytest.raises(EndpointError, match="HTTP 401.*missing or wrong API key"),
        ):
            anonymous.generate([chat("hi")], params)
        monkeypatch.setenv("TINY_SERVER_KEY", "s3cret")
        with OpenAIGenerator(
            hf_generator.model, base_url=server.base_url, api_key_env="TINY_SERVER_KEY"
        ) as keyed:
            got = keyed.generate([chat("hi")], params)
    assert got[0][0].text == hf_generator.generate([chat("hi")], params)[0][0].text


def test_server_main_needs_the_named_key(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from realcode.generation.openai_server import main as server_main

    code = server_main(["--model", str(tiny_model_dir), "--api-key-env", "REALCODE_NO_SUCH_VARIABLE"])
    assert code == 2 and "REALCODE_NO_SUCH_VARIABLE" in capsys.readouterr().err


def test_importing_the_packages_stays_light() -> None:
    """``realcode.generation`` and ``realcode.training`` import no heavy dependency until a back-end is built."""
    probe = (
        "import sys, realcode.generation, realcode.training, realcode.training.tiny\n"
        "from realcode.generation import SamplingParams, make_generator\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'vllm', 'httpx', 'fastapi', 'uvicorn') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    source_root = str(Path(realcode.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
