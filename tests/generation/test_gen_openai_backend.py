"""The OpenAI-compatible back-end over real HTTP on 127.0.0.1.

Two kinds of server: our own (``realcode.generation.openai_server``) serving the tiny model, and scripted
``http.server`` servers that misbehave on purpose (rate limits, outages, garbage, slowness).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from realcode.generation import EndpointError, SamplingParams, make_generator
from realcode.generation.backend_hf import HFGenerator
from realcode.generation.backend_openai import OpenAIGenerator, parse_retry_after
from realcode.generation.openai_server import ServerThread
from realcode.generation.openai_server import main as server_main
from realcode.tasks.model import ChatMessage


def chat(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="You write Python."), ChatMessage(role="user", content=text)]


PROMPTS = [chat("Write is_even."), chat("Parse a CSV file into dicts. " * 4), chat("x")]


@pytest.fixture(scope="module")
def tiny_server(hf_generator: HFGenerator) -> Iterator[ServerThread]:
    with ServerThread(hf_generator) as server:
        yield server


def client(base_url: str, model: str = "scripted", **options: Any) -> OpenAIGenerator:
    options.setdefault("backoff_base", 0.01)
    return OpenAIGenerator(model, base_url=base_url, **options)


# --- against our server, which serves the tiny model -----------------------------------------------------


def test_http_returns_what_the_local_backend_returns(
    tiny_server: ServerThread, hf_generator: HFGenerator
) -> None:
    params = SamplingParams(n=3, max_new_tokens=12, seed=5, temperature=0.8)
    with make_generator(
        "openai", hf_generator.model, base_url=tiny_server.base_url, max_concurrency=3
    ) as remote:
        over_http = remote.generate(PROMPTS, params)
    local = hf_generator.generate(PROMPTS, params)
    assert [[c.text for c in row] for row in over_http] == [[c.text for c in row] for row in local]
    assert [[c.index for c in row] for row in over_http] == [[0, 1, 2]] * 3
    assert {c.backend for row in over_http for c in row} == {"openai"}
    assert [row[0].prompt_tokens for row in over_http] == [row[0].prompt_tokens for row in local]
    # Our server reports each choice's token count (OpenAI's usage only has the sum).
    assert [[c.completion_tokens for c in row] for row in over_http] == [
        [c.completion_tokens for c in row] for row in local
    ]


def test_http_stop_sequences_and_single_choice_usage(
    tiny_server: ServerThread, hf_generator: HFGenerator
) -> None:
    params = SamplingParams(n=1, max_new_tokens=30, seed=9)
    full = hf_generator.generate([PROMPTS[0]], params)[0][0].text
    stop = full[10:12]
    with client(tiny_server.base_url, hf_generator.model) as remote:
        got = remote.generate([PROMPTS[0]], params.model_copy(update={"stop": (stop,)}))[0][0]
    assert got.text == full[: full.find(stop)] and got.finish_reason == "stop"
    assert got.completion_tokens is not None and 0 < got.completion_tokens < 30


def test_models_endpoint_and_wrong_model(tiny_server: ServerThread, hf_generator: HFGenerator) -> None:
    listed = httpx.get(f"{tiny_server.base_url}/models").json()
    assert [m["id"] for m in listed["data"]] == [hf_generator.model]
    with client(tiny_server.base_url, "gpt-nonexistent") as remote, pytest.raises(EndpointError) as err:
        remote.generate([PROMPTS[0]], SamplingParams(max_new_tokens=2))
    assert "HTTP 404" in str(err.value) and "gpt-nonexistent" in str(err.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "unsupported message role 'tool'"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 0}, "n:"),
        ({"messages": [{"role": "user", "content": "x"}], "stream": True}, "streaming"),
    ],
)
def test_server_rejects_bad_requests_clearly(
    tiny_server: ServerThread, body: dict[str, Any], message: str
) -> None:
    response = httpx.post(f"{tiny_server.base_url}/chat/completions", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_server_accepts_content_parts_and_developer_role(
    tiny_server: ServerThread, hf_generator: HFGenerator
) -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "You write Python."},
            {"role": "user", "content": [{"type": "text", "text": "Write is_even."}]},
        ],
        "max_completion_tokens": 6,
        "seed": 4,
    }
    answer = httpx.post(f"{tiny_server.base_url}/chat/completions", json=body).json()
    local = hf_generator.generate([PROMPTS[0]], SamplingParams(max_new_tokens=6, seed=4))[0][0]
    assert answer["choices"][0]["message"]["content"] == local.text
    assert answer["usage"]["completion_tokens"] == 6


def test_taught_and_silent_models_over_http(answering_model_dir: Path, silent_model_dir: Path) -> None:
    greedy = SamplingParams(n=2, temperature=0, max_new_tokens=20)
    for model_dir, expected in ((answering_model_dir, "return 42"), (silent_model_dir, "")):
        with (
            HFGenerator(model_dir) as local,
            ServerThread(local) as server,
            client(server.base_url, local.model) as remote,
        ):
            rows = remote.generate([chat("hello"), chat("Sort a list of numbers")], greedy)
        assert [[c.text for c in row] for row in rows] == [[expected] * 2] * 2
        assert all(c.finish_reason == "stop" and c.empty == (expected == "") for row in rows for c in row)


def test_server_main_reports_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert server_main(["--model", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in capsys.readouterr().err


# --- against scripted servers ----------------------------------------------------------------------------


def test_rate_limits_are_retried_honouring_retry_after(scripted: Any) -> None:
    def script(number: int) -> Any:
        if number < 2:
            return scripted.Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        return scripted.chat_reply(["def is_even(n): return n % 2 == 0"])

    with scripted.Server(script) as server, client(server.base_url, max_retries=3) as remote:
        got = remote.generate(
            [PROMPTS[0]], SamplingParams(max_new_tokens=5, seed=2, stop=["q", "w", "x", "y", "_"])
        )
    assert got[0][0].text == "def is"  # the stop sequences are applied to the reply too
    assert got[0][0].finish_reason == "stop"
    assert len(server.seen) == 3 and remote.retries_done == 2
    sent = server.seen[0].body
    assert sent["model"] == "scripted" and sent["n"] == 1 and sent["max_tokens"] == 5 and sent["seed"] == 2
    assert sent["stop"] == ["q", "w", "x", "y"]  # OpenAI accepts at most four
    assert server.seen[0].path == "/v1/chat/completions"


def test_server_errors_are_retried_then_reported(scripted: Any) -> None:
    with (
        scripted.Server(lambda _: scripted.Reply(503, {"error": "overloaded"})) as server,
        client(server.base_url, max_retries=2) as remote,
        pytest.raises(EndpointError) as err,
    ):
        remote.generate([PROMPTS[0]], SamplingParams())
    assert len(server.seen) == 3
    assert (
        "after 3 attempts" in str(err.value)
        and "HTTP 503" in str(err.value)
        and "overloaded" in str(err.value)
    )


def test_client_errors_are_not_retried(scripted: Any) -> None:
    reply = scripted.Reply(401, {"error": {"message": "invalid api key"}})
    with (
        scripted.Server(lambda _: reply) as server,
        client(server.base_url) as remote,
        pytest.raises(EndpointError, match="HTTP 401.*invalid api key.*API key"),
    ):
        remote.generate([PROMPTS[0]], SamplingParams())
    assert len(server.seen) == 1


def test_garbage_replies_are_reported(scripted: Any) -> None:
    with (
        scripted.Server(lambda _: scripted.Reply(200, "<html>proxy error</html>")) as server,
        client(server.base_url) as remote,
        pytest.raises(EndpointError, match="not with a chat completion.*proxy error"),
    ):
        remote.generate([PROMPTS[0]], SamplingParams())


def test_empty_text_is_a_completion_not_an_error(scripted: Any) -> None:
    def script(_: int) -> Any:
        reply = scripted.chat_reply([""])
        reply.body["choices"][0]["message"]["content"] = None  # some servers send null content
        return reply

    with scripted.Server(script) as server, client(server.base_url) as remote:
        got = remote.generate([PROMPTS[0], PROMPTS[1]], SamplingParams())
    assert [row[0].text for row in got] == ["", ""] and all(row[0].empty for row in got)


def test_missing_choices_are_requested_again(scripted: Any) -> None:
    with (
        scripted.Server(lambda n: scripted.chat_reply([f"sample {n}"])) as server,
        client(server.base_url) as remote,
    ):
        got = remote.generate([PROMPTS[0]], SamplingParams(n=3, seed=8))[0]
    assert [c.text for c in got] == ["sample 0", "sample 1", "sample 2"]
    assert [c.index for c in got] == [0, 1, 2]
    assert [s.body["n"] for s in server.seen] == [3, 2, 1]
    assert len({s.body["seed"] for s in server.seen}) == 3  # follow-up requests draw afresh


def test_concurrency_is_limited(scripted: Any) -> None:
    def script(number: int) -> Any:
        reply = scripted.chat_reply([f"answer {number}"])
        reply.delay_s = 0.5  # long enough for requests to overlap when the client allows it
        return reply

    with scripted.Server(script) as server, client(server.base_url, max_concurrency=2) as remote:
        got = remote.generate([chat(f"prompt {i}") for i in range(6)], SamplingParams())
    assert len(server.seen) == 6 and server.max_in_flight == 2
    assert sorted(row[0].text for row in got) == [f"answer {i}" for i in range(6)]
    # Each answer is matched to its own prompt, whatever order the requests finished in.
    by_prompt = {s.body["messages"][-1]["content"]: i for i, s in enumerate(server.seen)}
    assert [row[0].text for row in got] == [f"answer {by_prompt[f'prompt {i}']}" for i in range(6)]


def test_a_failed_prompt_stops_the_others_retries(scripted: Any) -> None:
    def script(number: int) -> Any:
        if number == 0:
            return scripted.Reply(503, {"error": "busy"}, {"Retry-After": "30"})
        return scripted.Reply(400, {"error": {"message": "prompt too long"}}, delay_s=0.3)

    with (
        scripted.Server(script) as server,
        client(server.base_url, max_concurrency=2, max_retries=3) as remote,
        pytest.raises(EndpointError, match="prompt too long"),
    ):
        remote.generate([chat("first"), chat("second"), chat("third")], SamplingParams())
    # The first prompt was told to come back in 30 s; it gave up instead of retrying, and the third prompt,
    # not yet started, was never sent.
    assert len(server.seen) == 2


def test_slow_endpoint_times_out(scripted: Any) -> None:
    reply = scripted.chat_reply(["late"])
    reply.delay_s = 3.0
    with (
        scripted.Server(lambda _: reply) as server,
        client(server.base_url, timeout=0.3, max_retries=1) as remote,
        pytest.raises(EndpointError, match=r"no answer within 0.3s.*Is the server running"),
    ):
        remote.generate([PROMPTS[0]], SamplingParams())


def test_unreachable_endpoint_is_reported(scripted: Any) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with client(f"http://127.0.0.1:{port}/v1", max_retries=2) as remote, pytest.raises(EndpointError) as err:
        remote.generate([PROMPTS[0]], SamplingParams())
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "after 3 attempts" in message and "ConnectError" in message
    assert "Is the server running, and is --base-url right?" in message
    assert time.monotonic() - started < 60  # bounded: retries back off briefly, they do not hang


def test_api_key_comes_from_the_named_environment_variable(
    scripted: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="MY_ENDPOINT_KEY"):
        client("http://127.0.0.1:9/v1", api_key_env="MY_ENDPOINT_KEY")
    monkeypatch.setenv("MY_ENDPOINT_KEY", "sk-test-123")
    with (
        scripted.Server(lambda _: scripted.chat_reply(["ok"])) as server,
        client(server.base_url, api_key_env="MY_ENDPOINT_KEY") as remote,
    ):
        remote.generate([PROMPTS[0]], SamplingParams())
    assert server.seen[0].headers.get("Authorization") == "Bearer sk-test-123"


def test_factory_and_constructor_checks() -> None:
    with pytest.raises(ValueError, match="needs base_url"):
        make_generator("openai", "m")
    with pytest.raises(ValueError, match="must start with http"):
        make_generator("openai", "m", base_url="127.0.0.1:8000/v1")


def test_retry_after_and_backoff_delays() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    in_a_while = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(in_a_while) <= 31  # type: ignore[operator]
    with OpenAIGenerator("m", base_url="http://127.0.0.1:9/v1", backoff_base=1.0, backoff_max=8.0) as gen:
        for attempt, ceiling in ((0, 1.0), (2, 4.0), (6, 8.0)):
            delays = [gen._delay(attempt, None) for _ in range(50)]
            assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(set(delays)) > 1
        assert 5.0 <= gen._delay(0, 5.0) <= 6.0
        assert gen._delay(0, 10_000.0) <= gen.max_retry_after + 1.0
