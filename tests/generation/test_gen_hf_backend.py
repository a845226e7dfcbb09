"""The Hugging Face back-end on the tiny model, on CPU: samples, seeds, batching, stops, end of sequence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from realcode.generation import (
    GenerationError,
    ModelNotAvailableError,
    SamplingParams,
    make_generator,
)
from realcode.generation.backend_hf import HFGenerator
from realcode.generation.chat import plain_chat
from realcode.tasks.model import ChatMessage


def chat(text: str, system: str | None = None) -> list[ChatMessage]:
    head = [ChatMessage(role="system", content=system)] if system else []
    return [*head, ChatMessage(role="user", content=text)]


SHORT = chat("Write is_even.")
LONG = chat("Write a function that parses a CSV file and returns rows. " * 6, system="You write Python.")
MEDIUM = chat("Sort a list of numbers without sorted().")


def texts(result: list[list[object]]) -> list[list[str]]:
    return [[c.text for c in row] for row in result]  # type: ignore[attr-defined]


def test_n_samples_per_prompt_in_order(hf_generator: HFGenerator) -> None:
    params = SamplingParams(n=3, max_new_tokens=12, seed=7)
    result = hf_generator.generate([SHORT, LONG], params)
    assert [len(row) for row in result] == [3, 3]
    assert [[c.index for c in row] for row in result] == [[0, 1, 2], [0, 1, 2]]
    for row in result:
        assert len({c.text for c in row}) == 3  # independent draws from a near-uniform model differ
        for c in row:
            assert c.backend == "hf" and c.finish_reason == "length" and c.completion_tokens == 12
    assert result[1][0].prompt_tokens > result[0][0].prompt_tokens  # type: ignore[operator]
    assert result[0][0].prompt_tokens == len(
        hf_generator.tokenizer(hf_generator.render(SHORT), add_special_tokens=False)["input_ids"]
    )


def test_seeds_reproduce_and_differ(hf_generator: HFGenerator) -> None:
    params = SamplingParams(n=2, max_new_tokens=10, seed=11)
    first = texts(hf_generator.generate([SHORT, MEDIUM], params))
    assert texts(hf_generator.generate([SHORT, MEDIUM], params)) == first
    assert texts(hf_generator.generate([SHORT, MEDIUM], params.model_copy(update={"seed": 12}))) != first
    unseeded = params.model_copy(update={"seed": None})
    assert texts(hf_generator.generate([SHORT], unseeded)) != texts(hf_generator.generate([SHORT], unseeded))


def test_a_prompt_samples_the_same_alone_or_in_any_batch(
    tiny_model_dir: Path, hf_generator: HFGenerator
) -> None:
    params = SamplingParams(n=2, max_new_tokens=16, seed=3, temperature=0.9, top_p=0.95)
    batched = hf_generator.generate([LONG, SHORT, MEDIUM], params)
    alone = hf_generator.generate([SHORT], params)
    assert texts(alone)[0] == texts(batched)[1]
    with HFGenerator(tiny_model_dir, batch_size=1) as one_by_one:
        assert texts(one_by_one.generate([MEDIUM, LONG, SHORT], params)) == [
            texts(batched)[2],
            texts(batched)[0],
            texts(batched)[1],
        ]


def test_greedy_and_tiny_top_p_agree(hf_generator: HFGenerator) -> None:
    greedy = hf_generator.generate([MEDIUM], SamplingParams(n=2, temperature=0, max_new_tokens=8, seed=1))[0]
    assert greedy[0].text == greedy[1].text
    # top_p so small that only the most likely token survives: sampling collapses to greedy decoding.
    nucleus = hf_generator.generate([MEDIUM], SamplingParams(n=2, top_p=1e-9, max_new_tokens=8, seed=5))[0]
    assert [c.text for c in nucleus] == [greedy[0].text] * 2


def test_stop_sequences_truncate(hf_generator: HFGenerator) -> None:
    params = SamplingParams(n=1, max_new_tokens=40, seed=21)
    full = hf_generator.generate([MEDIUM], params)[0][0].text
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    assert stop.strip(), "the sample should have visible text to cut at"
    cut = hf_generator.generate([MEDIUM], params.model_copy(update={"stop": ("\x00never", stop)}))[0][0]
    assert cut.text == full[: full.find(stop)]
    assert cut.finish_reason == "stop"
    assert cut.completion_tokens is not None and cut.completion_tokens < 40  # generation ended early


def test_end_of_sequence_and_length(answering_model_dir: Path, silent_model_dir: Path) -> None:
    with HFGenerator(answering_model_dir) as answering:
        done = answering.generate(
            [chat("Sort a list of numbers")], SamplingParams(temperature=0, max_new_tokens=30)
        )
        assert (done[0][0].text, done[0][0].finish_reason) == ("return 42", "stop")
        short = answering.generate([chat("hello")], SamplingParams(temperature=0, max_new_tokens=1))[0][0]
        assert (
            short.finish_reason == "length"
            and short.completion_tokens == 1
            and "return 42".startswith(short.text)
        )
    with HFGenerator(silent_model_dir) as silent:
        empty = silent.generate([chat("hello")], SamplingParams(temperature=0, max_new_tokens=30))[0][0]
        assert empty.text == "" and empty.empty and empty.finish_reason == "stop"


def test_plain_template_when_the_tokenizer_has_none(tiny_model_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base-model"
    shutil.copytree(tiny_model_dir, base)
    (base / "chat_template.jinja").unlink()
    with HFGenerator(base) as generator:
        assert generator.render(LONG) == plain_chat(LONG)
        assert generator.render(LONG).endswith("Assistant:")
        out = generator.generate([LONG], SamplingParams(max_new_tokens=4, seed=0))
        assert out[0][0].completion_tokens == 4


def test_model_kwargs_reach_from_pretrained(tiny_model_dir: Path, hf_generator: HFGenerator) -> None:
    greedy = SamplingParams(temperature=0, max_new_tokens=8)
    with HFGenerator(tiny_model_dir, model_kwargs={"attn_implementation": "eager"}) as eager:
        assert eager.lm.config._attn_implementation == "eager"
        # Another attention kernel, the same model: greedy decoding agrees.
        assert texts(eager.generate([MEDIUM], greedy)) == texts(hf_generator.generate([MEDIUM], greedy))


def test_prefilled_assistant_turn_is_continued(hf_generator: HFGenerator) -> None:
    prefilled = [*SHORT, ChatMessage(role="assistant", content="```python\n")]
    assert hf_generator.render(prefilled).endswith("<|im_start|>assistant\n```python\n")


def test_factory_and_bad_input(tiny_model_dir: Path, hf_generator: HFGenerator) -> None:
    with make_generator("hf", tiny_model_dir, batch_size=2) as generator:
        assert isinstance(generator, HFGenerator) and generator.batch_size == 2
    with pytest.raises(GenerationError, match="is closed"):
        generator.generate([SHORT], SamplingParams())
    with pytest.raises(ValueError, match="prompt 1 must be a non-empty list"):
        hf_generator.generate([SHORT, []], SamplingParams())
    with pytest.raises(ValueError, match="prompt 0 has a malformed message"):
        hf_generator.generate([[{"role": "robot", "content": "hi"}]], SamplingParams())  # type: ignore[list-item]
    with pytest.raises(GenerationError, match="exceeds the model's context"):
        hf_generator.generate([SHORT], SamplingParams(max_new_tokens=100_000))
    with pytest.raises(ValueError, match="batch_size"):
        make_generator("hf", tiny_model_dir, batch_size=0)
    with pytest.raises(ValueError, match="unexpected keyword argument 'beams'"):
        make_generator("hf", tiny_model_dir, beams=4)


@pytest.mark.parametrize(
    ("field", "value"),
    [("n", 0), ("temperature", -1.0), ("top_p", 0.0), ("max_new_tokens", 0), ("stop", [""]), ("seed", -3)],
)
def test_sampling_params_name_the_bad_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field if field != "stop" else "stop sequences"):
        SamplingParams(**{field: value})  # type: ignore[arg-type]


def test_stop_accepts_one_string() -> None:
    assert SamplingParams(stop="```").stop == ("```",)


def test_models_that_cannot_be_loaded_say_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(
        ModelNotAvailableError, match="not a local directory.*Point --model at a local directory"
    ):
        make_generator("hf", "no-such-org/no-such-model-realcode")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotAvailableError, match="has no config.json"):
        make_generator("hf", tmp_path / "empty")
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        make_generator("hf", str(tmp_path / "missing"))


def test_unknown_backend_and_missing_vllm() -> None:
    with pytest.raises(ValueError, match="known: hf, vllm, openai"):
        make_generator("llamacpp", "m")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(GenerationError, match=r"pip install 'realcode\[vllm\]'"):
            make_generator("vllm", "m")
    else:  # pragma: no cover - only on GPU machines with vLLM
        pytest.skip("vLLM is installed here")
