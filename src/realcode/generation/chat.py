"""Pieces every back-end shares: checking prompts, rendering chats, per-sample seeds, stop sequences."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from realcode.tasks.model import ChatMessage

__all__ = [
    "FALLBACK_TEMPLATE_NOTE",
    "check_prompts",
    "plain_chat",
    "render_chat",
    "sample_seed",
    "truncate_at_stop",
]

FALLBACK_TEMPLATE_NOTE = (
    "the tokenizer has no chat template, so prompts are rendered as plain 'System:/User:/Assistant:' text"
)


class _ChatTokenizer(Protocol):
    chat_template: Any

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...


def check_prompts(prompts: Sequence[Any]) -> list[list[ChatMessage]]:
    """``prompts`` as lists of :class:`ChatMessage` (dicts with role/content are accepted).

    Raises ``ValueError`` naming the first bad prompt, so a malformed batch fails before any model work.
    """
    if isinstance(prompts, (str, bytes)):
        raise ValueError("prompts must be a sequence of chats (lists of messages), not a string")
    checked: list[list[ChatMessage]] = []
    for i, prompt in enumerate(prompts):
        if isinstance(prompt, (str, bytes)) or not isinstance(prompt, Sequence) or not prompt:
            raise ValueError(
                f"prompt {i} must be a non-empty list of chat messages, got {type(prompt).__name__}"
            )
        try:
            checked.append(
                [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in prompt]
            )
        except ValidationError as exc:
            raise ValueError(f"prompt {i} has a malformed message: {exc.errors()[0]['msg']}") from None
    return checked


def plain_chat(messages: Iterable[ChatMessage]) -> str:
    """The fallback rendering for tokenizers without a chat template (base models)."""
    parts = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n\n".join([*parts, "Assistant:"])


def render_chat(tokenizer: _ChatTokenizer | None, messages: Sequence[ChatMessage]) -> str:
    """The prompt text the model sees: the tokenizer's chat template, else :func:`plain_chat`.

    A conversation that already ends with an assistant message is continued rather than answered anew,
    which lets callers pre-fill the start of an answer (e.g. an opening code fence).
    """
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return plain_chat(messages) if messages[-1].role != "assistant" else _plain_prefill(messages)
    conversation = [{"role": m.role, "content": m.content} for m in messages]
    if messages[-1].role == "assistant":
        text = tokenizer.apply_chat_template(conversation, tokenize=False, continue_final_message=True)
    else:
        text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    if not isinstance(text, str):  # some tokenizers return a list when given a batch-like input
        raise TypeError(f"the chat template rendered {type(text).__name__}, expected text")
    return text


def _plain_prefill(messages: Sequence[ChatMessage]) -> str:
    head = plain_chat(messages[:-1]) if len(messages) > 1 else "Assistant:"
    return f"{head} {messages[-1].content}"


def sample_seed(seed: int | None, messages: Sequence[ChatMessage], index: int) -> int:
    """The seed of sample ``index`` of a prompt: a pure function of ``seed``, the messages and ``index``.

    Keying on the prompt's content (not its position in the batch) makes a sample reproducible however the
    prompts are batched, split or resumed. ``seed=None`` asks for fresh randomness.
    """
    if seed is None:
        return secrets.randbits(63)
    key = json.dumps([seed, [[m.role, m.content] for m in messages], index], ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before the earliest stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
