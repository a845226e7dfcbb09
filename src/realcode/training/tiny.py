"""A tiny causal language model built offline, for tests, demos and CPU smoke runs.

REAL trains Qwen2.5-Coder, so the tiny model is a Qwen2 architecture shrunk to about a million parameters
(2 layers, hidden size 128, 4 attention heads). Its tokenizer is a byte-level BPE trained here, with the
``tokenizers`` library, on Python source that is always present offline: a fixed list of standard-library
modules. It has Qwen's chat markup (``<|im_start|>role\\n...<|im_end|>``), ``<|im_end|>`` as end of sequence
and ``<|endoftext|>`` as padding, and is saved with ``save_pretrained`` so that ``AutoTokenizer`` and
``AutoModelForCausalLM`` load the directory like any hub checkpoint.

The weights are random (seeded): the model writes byte soup, which is all that tests of the plumbing need;
training code fine-tunes it when it needs behaviour. The build is deterministic given its arguments and the
installed Python, tokenizers and torch versions.

Run ``python -m realcode.training.tiny [--out DIR]`` to build it and print its directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "PAD_TOKEN",
    "SPECIAL_TOKENS",
    "build_tiny_model",
    "default_corpus",
    "default_tiny_model",
    "main",
]

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, EOS_TOKEN)

# Qwen2.5's markup without its default system prompt: a prompt renders to exactly what the caller wrote.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Standard-library modules that exist on every CPython >= 3.10 and are plain, idiomatic Python. A fixed list
# (not a directory walk) so that the corpus, hence the tokenizer, does not change with unrelated files.
_STDLIB_MODULES = (
    "abc.py",
    "argparse.py",
    "ast.py",
    "base64.py",
    "bisect.py",
    "calendar.py",
    "configparser.py",
    "contextlib.py",
    "copy.py",
    "csv.py",
    "dataclasses.py",
    "datetime.py",
    "difflib.py",
    "enum.py",
    "fnmatch.py",
    "fractions.py",
    "functools.py",
    "glob.py",
    "gzip.py",
    "hashlib.py",
    "heapq.py",
    "hmac.py",
    "inspect.py",
    "ipaddress.py",
    "os.py",
    "pathlib.py",
    "pickle.py",
    "pprint.py",
    "queue.py",
    "random.py",
    "secrets.py",
    "shlex.py",
    "shutil.py",
    "socket.py",
    "statistics.py",
    "string.py",
    "subprocess.py",
    "tempfile.py",
    "textwrap.py",
    "threading.py",
    "tokenize.py",
    "typing.py",
    "uuid.py",
    "zipfile.py",
    "json/__init__.py",
    "json/decoder.py",
    "json/encoder.py",
    "sqlite3/__init__.py",
    "urllib/parse.py",
    "http/client.py",
    "email/utils.py",
    "logging/__init__.py",
)

# Bumped whenever a change here changes what gets built, so that stale caches are rebuilt.
_BUILD_FORMAT = 1
_MARKER = "realcode-tiny.json"


def default_corpus() -> Iterator[str]:
    """Source text of a fixed list of standard-library modules (whichever of them this Python has).

    Some Python distributions ship the standard library compiled only; realcode's own source, which is
    always there, stands in for it then.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = False
    for name in _STDLIB_MODULES:
        path = stdlib / name
        if path.is_file():
            found = True
            yield path.read_text(encoding="utf-8", errors="replace")
    if not found:
        package = Path(__file__).resolve().parents[1]
        for path in sorted(package.rglob("*.py")):
            yield path.read_text(encoding="utf-8", errors="replace")


def _train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    # GPT-2 style byte-level pre-tokenisation: every byte string is encodable, so no unknown token is needed.
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def build_tiny_model(
    out_dir: str | Path,
    *,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 4096,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    intermediate_size: int = 512,
    max_position_embeddings: int = 4096,
    seed: int = 0,
) -> Path:
    """Build the tiny model and its tokenizer into ``out_dir`` and return that directory.

    ``corpus`` is the text the tokenizer is trained on (default: :func:`default_corpus`). The directory is
    written atomically: it is assembled next to ``out_dir`` and renamed into place, so a reader never sees a
    half-written model. An existing ``out_dir`` is replaced.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size={vocab_size} is too small: byte-level BPE needs at least 259 tokens")
    if hidden_size % num_heads or num_heads % num_kv_heads:
        raise ValueError(
            f"hidden_size={hidden_size} must be divisible by num_heads={num_heads}, "
            f"and num_heads by num_kv_heads={num_kv_heads}"
        )
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    texts = list(default_corpus() if corpus is None else corpus)
    if not any(t.strip() for t in texts):
        raise ValueError("the corpus to train the tokenizer on is empty")
    raw = _train_tokenizer(texts, vocab_size)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=raw,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[IM_START],
        model_max_length=max_position_embeddings,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=None,
        eos_token_id=int(tokenizer.convert_tokens_to_ids(EOS_TOKEN)),  # type: ignore[arg-type]
        pad_token_id=int(tokenizer.convert_tokens_to_ids(PAD_TOKEN)),  # type: ignore[arg-type]
    )
    # A private generator state so that building does not disturb (or depend on) the caller's global RNG use.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)  # type: ignore[no-untyped-call]
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.generation_config.bos_token_id = None

    out = Path(out_dir).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        marker = {
            "format": _BUILD_FORMAT,
            "seed": seed,
            "vocab_size": vocab_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "corpus_sha256": hashlib.sha256("\0".join(texts).encode()).hexdigest(),
        }
        (staging / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _cache_root() -> Path:
    explicit = os.environ.get("REALCODE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "realcode"


def default_tiny_model(*, rebuild: bool = False) -> Path:
    """The tiny model with default settings, built once into ``~/.cache/realcode/tiny-model``.

    ``REALCODE_CACHE_DIR`` (or ``XDG_CACHE_HOME``) moves the cache. A cache written by an older format of this
    module is rebuilt.
    """
    out = _cache_root() / "tiny-model"
    if not rebuild and _is_current(out):
        return out
    # Built aside and renamed into place, so that concurrent first uses (parallel test workers) neither see a
    # half-built model nor destroy one another's: the first rename wins, the others discard their copy.
    built = build_tiny_model(out.parent / f".tiny-model.build-{os.getpid()}")
    try:
        if out.exists() and (rebuild or not _is_current(out)):
            shutil.rmtree(out, ignore_errors=True)
        os.replace(built, out)
    except OSError:
        shutil.rmtree(built, ignore_errors=True)
        if not _is_current(out):
            raise
    return out


def _is_current(model_dir: Path) -> bool:
    try:
        marker = json.loads((model_dir / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # missing or unreadable: not a usable cache
    return isinstance(marker, dict) and marker.get("format") == _BUILD_FORMAT


def main(argv: list[str] | None = None) -> int:
    """``python -m realcode.training.tiny [--out DIR] [--seed N] [--rebuild]``: build and print the path."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m realcode.training.tiny", description=main.__doc__)
    parser.add_argument("--out", type=Path, help="directory to build into (default: the user cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached model")
    args = parser.parse_args(argv)
    if args.out is not None:
        path = build_tiny_model(args.out, seed=args.seed)
    elif args.seed != 0:
        parser.error("--seed needs --out: the cached default model is built with seed 0")
    else:
        path = default_tiny_model(rebuild=args.rebuild)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
