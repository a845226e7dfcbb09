"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM's server, TGI, llama.cpp, our own server).

One request per prompt asks for its ``n`` samples; requests run concurrently up to ``max_concurrency``.
Failures that are worth retrying (connection errors, timeouts, 408/409/425/429 and 5xx answers) are retried
with exponential backoff and jitter; a ``Retry-After`` header is honoured (up to ``max_retry_after``
seconds). Other answers (400, 401, 403, 404...) fail at once with the endpoint's own message.

The seed is sent as given (``SamplingParams.seed``): a server that derives per-sample seeds the way
:mod:`realcode.generation.openai_server` does then returns exactly what the local back-end would. Stop
sequences are sent (at most ``max_stop`` of them, OpenAI's limit is 4) and also applied to the returned text,
since some servers include the stop sequence or accept fewer.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from realcode.generation.chat import check_prompts, sample_seed, truncate_at_stop
from realcode.generation.types import Completion, EndpointError, Generator, SamplingParams
from realcode.tasks.model import ChatMessage

__all__ = ["RETRYABLE_STATUS", "OpenAIGenerator"]

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), if it says."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Abandoned(EndpointError):
    """A prompt given up because another prompt of the same batch failed."""


class OpenAIGenerator(Generator):
    """Generation through ``POST {base_url}/chat/completions``.

    ``api_key_env`` names the environment variable holding the key; when it is the default
    (``OPENAI_API_KEY``) and unset, no key is sent (local servers need none). ``timeout`` bounds each HTTP
    request, ``connect_timeout`` the connection. ``extra_body`` is merged into every request (e.g.
    ``{"top_k": 20}`` for vLLM).
    """

    backend = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key_env: str = DEFAULT_KEY_ENV,
        max_concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        max_stop: int | None = 4,
        max_tokens_field: str = "max_tokens",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        import httpx

        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("max_concurrency must be >= 1, max_retries >= 0 and timeout > 0")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_stop = max_stop
        self.max_tokens_field = max_tokens_field
        self.extra_body = dict(extra_body or {})
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif api_key_env != DEFAULT_KEY_ENV:
            raise ValueError(f"the environment variable {api_key_env} (named by api_key_env) is not set")
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )
        self._jitter = random.Random()
        self._jitter_lock = threading.Lock()
        self.retries_done = 0  # total retries over the generator's life: how hard the endpoint pushed back

    def generate(
        self, prompts: Sequence[list[ChatMessage]], params: SamplingParams
    ) -> list[list[Completion]]:
        chats = check_prompts(prompts)
        if not chats:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(chats))) as pool:
            abort = threading.Event()
            futures = [pool.submit(self._samples_for, chat, params, abort) for chat in chats]
            try:
                wait(futures, return_when=FIRST_EXCEPTION)
                failures = [
                    e for f in futures if f.done() and not f.cancelled() and (e := f.exception()) is not None
                ]
                if failures:
                    # Report the failure itself, not a prompt abandoned because of it.
                    raise next((e for e in failures if not isinstance(e, _Abandoned)), failures[0])
                return [f.result() for f in futures]
            except BaseException:
                # One prompt failed for good (or the caller interrupted): stop the other prompts' retries
                # rather than wait them out.
                abort.set()
                for f in futures:
                    f.cancel()
                raise

    def _samples_for(
        self, chat: list[ChatMessage], params: SamplingParams, abort: threading.Event
    ) -> list[Completion]:
        """All n samples of one prompt; asks again when a server returns fewer choices than requested.

        A failure sets ``abort`` here, in the worker, before the pool can hand the worker another prompt.
        """
        samples: list[Completion] = []
        seed = params.seed
        try:
            while len(samples) < params.n:
                if abort.is_set():
                    raise _Abandoned(f"request to {self.url} abandoned: another prompt of the batch failed")
                wanted = params.n - len(samples)
                got = self._request(chat, params, wanted, seed, first_index=len(samples), abort=abort)
                if not got:
                    raise EndpointError(f"{self.url} returned no choices for a request of n={wanted}")
                samples.extend(got[:wanted])
                # A follow-up request must not repeat the first one's draws.
                seed = None if params.seed is None else sample_seed(params.seed, chat, len(samples))
        except BaseException:
            abort.set()
            raise
        return samples

    def _body(
        self, chat: list[ChatMessage], params: SamplingParams, n: int, seed: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in chat],
            "n": n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            self.max_tokens_field: params.max_new_tokens,
        }
        if seed is not None:
            body["seed"] = seed
        if params.stop:
            body["stop"] = list(params.stop[: self.max_stop] if self.max_stop is not None else params.stop)
        body.update(self.extra_body)
        return body

    def _request(
        self,
        chat: list[ChatMessage],
        params: SamplingParams,
        n: int,
        seed: int | None,
        first_index: int,
        abort: threading.Event,
    ) -> list[Completion]:
        import httpx

        body = self._body(chat, params, n, seed)
        started = time.perf_counter()
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException:
                last_problem = f"no answer within {self.timeout:g}s"
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc or 'connection failed'}"
            else:
                if response.status_code == 200:
                    return self._parse(response, params, seed, first_index, time.perf_counter() - started)
                detail = _snippet(response.text)
                if response.status_code not in RETRYABLE_STATUS:
                    raise EndpointError(self._refusal(response.status_code, detail))
                last_problem = f"HTTP {response.status_code}: {detail}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt == self.max_retries:
                break
            self.retries_done += 1
            if abort.wait(self._delay(attempt, retry_after)):
                raise _Abandoned(f"request to {self.url} abandoned: another prompt of the batch failed")
        hint = (
            " Is the server running, and is --base-url right?"
            if "Connect" in last_problem or "no answer" in last_problem
            else ""
        )
        raise EndpointError(
            f"cannot get a completion from {self.url} after {self.max_retries + 1} attempts: {last_problem}.{hint}"
        )

    def _refusal(self, status: int, detail: str) -> str:
        message = f"{self.url} refused the request with HTTP {status}: {detail}"
        if status in (401, 403):
            message += " (check the API key: it is read from the environment variable named by api_key_env)"
        elif status == 404:
            message += f" (check --base-url, which usually ends in /v1, and the model name {self.model!r})"
        return message

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, so that clients spread out."""
        with self._jitter_lock:
            jitter = self._jitter.random()
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + jitter * self.backoff_base
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return float(ceiling / 2 + jitter * ceiling / 2)

    def _parse(
        self, response: Any, params: SamplingParams, seed: int | None, first_index: int, latency: float
    ) -> list[Completion]:
        try:
            payload = response.json()
            choices = payload["choices"]
            if not isinstance(choices, list):
                raise TypeError("choices is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise EndpointError(
                f"{self.url} answered 200 but not with a chat completion ({exc}): {_snippet(response.text)}"
            ) from None
        usage = payload.get("usage") or {}
        completions = []
        for offset, choice in enumerate(sorted(choices, key=lambda c: c.get("index", 0))):
            message = choice.get("message") or {}
            text = message.get("content")
            if text is None:
                text = choice.get("text") or ""  # legacy completion-style servers
            if not isinstance(text, str):
                raise EndpointError(f"{self.url} returned non-text content: {_snippet(str(text))}")
            text, hit = truncate_at_stop(text, params.stop)
            completions.append(
                Completion(
                    text=text,
                    finish_reason="stop" if hit else str(choice.get("finish_reason") or "unknown"),
                    prompt_tokens=usage.get("prompt_tokens"),
                    # Usage is summed over the choices: a per-sample count exists for a single choice, or
                    # when the server adds one to each choice (ours does).
                    completion_tokens=choice.get("completion_tokens")
                    if isinstance(choice.get("completion_tokens"), int)
                    else (usage.get("completion_tokens") if len(choices) == 1 else None),
                    backend=self.backend,
                    model=str(payload.get("model") or self.model),
                    latency_s=latency,
                    index=first_index + offset,
                    seed=seed,
                )
            )
        return completions

    def close(self) -> None:
        self._client.close()
