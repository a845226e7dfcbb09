"""The offline tiny model: loadable by the Auto classes, Qwen chat markup, deterministic builds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

from realcode.training import tiny


def _digest(path: Path) -> str:
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_loads_with_auto_classes_as_a_small_qwen2(tiny_model_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert model.config.model_type == "qwen2"
    assert 500_000 <= sum(p.numel() for p in model.parameters()) <= 3_000_000
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert model.config.vocab_size == len(tokenizer)


def test_chat_template_is_qwen_markup(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "def f(x):"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\ndef f(x):<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    # The markup tokens are single special tokens, not spelled out byte by byte.
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3
    assert ids.count(tokenizer.eos_token_id) == 2


def test_tokenizer_is_byte_level_and_matches_the_trained_one(tiny_model_dir: Path) -> None:
    loaded = AutoTokenizer.from_pretrained(tiny_model_dir)
    raw = Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))
    sample = "def näive(x: int) -> str:\n\treturn f'{x!r} ✓'  # 中文\n"
    assert loaded(sample, add_special_tokens=False)["input_ids"] == raw.encode(sample).ids
    assert loaded.decode(loaded(sample)["input_ids"]) == sample  # no unknown token: every byte survives
    # Trained on Python, so common keywords are single tokens.
    assert len(raw.encode("return").ids) == 1


def test_build_is_deterministic_given_the_seed(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tiny.main(["--out", str(tmp_path / "again")]) == 0
    again = Path(capsys.readouterr().out.strip())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name
    other = tiny.build_tiny_model(tmp_path / "other", seed=1)
    assert _digest(other) != _digest(tiny_model_dir)
    assert (other / "tokenizer.json").read_bytes() == (tiny_model_dir / "tokenizer.json").read_bytes()


def test_custom_corpus_and_settings(tmp_path: Path) -> None:
    corpus = ["def add(a, b):\n    return a + b\n"] * 50 + ["class Point:\n    x: int\n    y: int\n"] * 50
    out = tiny.build_tiny_model(
        tmp_path / "m",
        corpus=corpus,
        vocab_size=300,
        hidden_size=32,
        num_heads=2,
        num_kv_heads=1,
        intermediate_size=64,
    )
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == 32
    assert model.config.vocab_size <= 300
    marker = json.loads((out / "realcode-tiny.json").read_text())
    assert marker["vocab_size"] == 300 and marker["parameters"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 100}, "vocab_size=100 is too small"),
        ({"hidden_size": 30, "num_heads": 4}, "divisible"),
        ({"corpus": ["  ", ""]}, "corpus"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny.build_tiny_model(tmp_path / "m", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "m").exists()


def test_default_model_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALCODE_CACHE_DIR", str(tmp_path / "cache"))
    first = tiny.default_tiny_model()
    assert first == tmp_path / "cache" / "tiny-model"
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny.default_tiny_model() == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt
    # A cache from another build format is rebuilt rather than trusted.
    (first / "realcode-tiny.json").write_text('{"format": -1}')
    tiny.default_tiny_model()
    assert json.loads((first / "realcode-tiny.json").read_text())["format"] != -1
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tiny-model.")]  # no staging left


def test_default_corpus_is_python_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = list(tiny.default_corpus())
    assert len(texts) >= 40 and all("def " in t for t in texts)
    # A Python without standard-library sources falls back on realcode's own source.
    monkeypatch.setattr(tiny.sysconfig, "get_paths", lambda: {"stdlib": str(tmp_path / "compiled-only")})
    fallback = list(tiny.default_corpus())
    assert fallback and any("def build_tiny_model(" in t for t in fallback)
