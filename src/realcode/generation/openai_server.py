"""A small OpenAI-compatible server in front of any :class:`~realcode.generation.types.Generator`.

It serves ``GET /v1/models`` and ``POST /v1/chat/completions`` (no streaming), so that tools written for the
OpenAI API can use a local checkpoint, and so that the HTTP back-end can be tested for real. Requests that
arrive together are batched: the server waits up to ``batch_wait_s`` for more requests with the same sampling
settings and hands them to the generator in one call. The default wait, 50 ms, is nothing next to the seconds a
completion takes, while 5 ms split the simultaneous requests of a client into several batches on a loaded
machine (see docs/bench/generation.md); requests that arrive while the generator is busy queue and form the
next batch anyway. Each request keeps its own seed, and per-sample seeds
are derived exactly as the local back-ends derive them, so a request returns what ``hf`` would return.
Each choice also carries its own ``completion_tokens`` (an extension: OpenAI only reports the sum).

Run it with ``python -m realcode.generation.openai_server --model DIR [--port 8000]``, or in-process with
:class:`ServerThread` (an ephemeral port on 127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from realcode.generation.types import Completion, Generator, PromptTooLongError, SamplingParams
from realcode.tasks.model import ChatMessage

__all__ = ["ChatRequest", "ServerThread", "create_app", "main"]


# OpenAI's newer "developer" role is what older models call "system".
_ROLES: dict[str, Literal["system", "user", "assistant"]] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def to_chat(self) -> ChatMessage:
        role = _ROLES.get(self.role)
        if role is None:
            raise ValueError(f"unsupported message role {self.role!r}: use system, user or assistant")
        content = self.content
        if isinstance(content, list):  # OpenAI content parts: only text parts make sense for a code model
            content = "".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
        return ChatMessage(role=role, content=content or "")


class ChatRequest(BaseModel):
    """The part of OpenAI's chat-completions request this server understands; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[_Message] = Field(min_length=1)
    n: int = Field(default=1, ge=1, le=1024)
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False

    @field_validator("stop")
    @classmethod
    def _stop_list(cls, value: str | list[str] | None) -> list[str] | None:
        return [value] if isinstance(value, str) else value

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        limit = self.max_completion_tokens or self.max_tokens or default_max_tokens
        return SamplingParams(
            n=self.n,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=limit,
            stop=tuple(s for s in (self.stop or []) if s),
        )


@dataclass
class _Pending:
    chat: list[ChatMessage]
    seed: int | None
    future: asyncio.Future[list[Completion]]


@dataclass
class _Batcher:
    """Collects concurrent requests and runs them through the generator in batches (one at a time)."""

    generator: Generator
    max_batch: int
    wait_s: float
    queue: asyncio.Queue[tuple[SamplingParams, _Pending]] = field(default_factory=asyncio.Queue)

    async def submit(
        self, chat: list[ChatMessage], params: SamplingParams, seed: int | None
    ) -> list[Completion]:
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        await self.queue.put((params, _Pending(chat, seed, future)))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            deadline = loop.time() + self.wait_s
            while len(items) < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self.queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            groups: dict[SamplingParams, list[_Pending]] = {}
            for params, pending in items:
                groups.setdefault(params, []).append(pending)
            for params, group in groups.items():
                await self._run_group(params, group)

    async def _run_group(self, params: SamplingParams, group: list[_Pending]) -> None:
        try:
            results = await asyncio.to_thread(
                self.generator.generate_with_seeds, [p.chat for p in group], params, [p.seed for p in group]
            )
        except Exception as exc:
            if len(group) > 1:
                # One bad request (say, a prompt too long) must not fail the others it was batched with.
                for pending in group:
                    await self._run_group(params, [pending])
                return
            if not group[0].future.done():
                group[0].future.set_exception(exc)  # the request answers with the message
            return
        for pending, completions in zip(group, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(completions)


def _error(status: int, message: str, kind: str, code: str | None = None) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "param": None, "code": code}}
    )


def create_app(
    generator: Generator,
    *,
    model_name: str | None = None,
    max_batch: int = 32,
    batch_wait_s: float = 0.05,
    default_max_tokens: int = 512,
    api_key: str | None = None,
) -> Any:
    """A FastAPI application serving ``generator`` under the name ``model_name`` (default: its model).

    With ``api_key``, every request must carry ``Authorization: Bearer <api_key>``.
    """
    import hmac

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError

    served = model_name or generator.model
    batcher_box: dict[str, _Batcher] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        batcher = _Batcher(generator, max_batch=max_batch, wait_s=batch_wait_s)
        batcher_box["batcher"] = batcher
        task = asyncio.create_task(batcher.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="realcode OpenAI-compatible server", lifespan=lifespan)

    if api_key:
        expected = f"Bearer {api_key}".encode()

        @app.middleware("http")
        async def _authorize(request: Request, call_next: Any) -> Any:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):  # constant time: the key is a secret
                return _error(401, "missing or wrong API key", "invalid_request_error", "invalid_api_key")
            return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"invalid request: {where}: {first.get('msg', exc)}", "invalid_request_error")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": served, "object": "model", "created": 0, "owned_by": "realcode"}],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest) -> Any:
        if request.stream:
            return _error(400, "streaming is not supported by this server", "invalid_request_error")
        if request.model not in (None, served):
            return _error(
                404,
                f"model {request.model!r} is not served here; use {served!r}",
                "not_found_error",
                "model_not_found",
            )
        try:
            chat = [m.to_chat() for m in request.messages]
            params = request.sampling(default_max_tokens)
        except (ValueError, ValidationError) as exc:
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        try:
            completions = await batcher_box["batcher"].submit(chat, params, request.seed)
        except PromptTooLongError as exc:
            return _error(400, str(exc), "invalid_request_error", "context_length_exceeded")
        except Exception as exc:
            return _error(500, f"generation failed: {exc}", "server_error")
        return _response(served, completions)

    return app


def _response(model: str, completions: Sequence[Completion]) -> dict[str, Any]:
    prompt_tokens = (completions[0].prompt_tokens or 0) if completions else 0
    completion_tokens = sum(c.completion_tokens or 0 for c in completions)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": c.index,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
                # An extension: OpenAI's usage sums over choices, but evaluation wants each sample's cost.
                "completion_tokens": c.completion_tokens,
            }
            for c in completions
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class ServerThread:
    """Run the server in a background thread of this process; ``port=0`` picks a free port.

    >>> with ServerThread(generator) as server:  # doctest: +SKIP
    ...     OpenAIGenerator(generator.model, base_url=server.base_url)
    """

    def __init__(
        self,
        generator: Generator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 30.0,
        **app_options: Any,
    ) -> None:
        import uvicorn

        self.host = host
        self._start_timeout = start_timeout
        config = uvicorn.Config(
            create_app(generator, **app_options), host=host, port=port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="realcode-openai-server", daemon=True)
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenAI-compatible server did not start on {self.host}")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve a model: ``python -m realcode.generation.openai_server --model DIR``."""
    parser = argparse.ArgumentParser(prog="python -m realcode.generation.openai_server", description=__doc__)
    parser.add_argument("--model", required=True, help="local model directory (or a cached hub id)")
    parser.add_argument("--backend", choices=("hf", "vllm"), default="hf")
    parser.add_argument("--served-name", help="model name clients ask for (default: --model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-batch", type=int, default=32, help="most requests generated together")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=50.0, help="how long a request waits for others to batch with"
    )
    parser.add_argument(
        "--api-key-env", help="require clients to send the key held by this environment variable (Bearer)"
    )
    parser.add_argument("--device", help="hf back-end: cpu, cuda, cuda:1 ... (default: cuda when available)")
    args = parser.parse_args(argv)

    import uvicorn

    from realcode.generation.factory import make_generator
    from realcode.generation.types import GenerationError

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(
                f"error: the environment variable {args.api_key_env} (--api-key-env) is not set",
                file=sys.stderr,
            )
            return 2
    options: dict[str, Any] = {"device": args.device} if args.backend == "hf" and args.device else {}
    backend: Literal["hf", "vllm"] = args.backend
    try:
        generator = make_generator(backend, args.model, **options)
    except (GenerationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(
        generator,
        model_name=args.served_name,
        max_batch=args.max_batch,
        batch_wait_s=args.batch_wait_ms / 1000,
        api_key=api_key,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
