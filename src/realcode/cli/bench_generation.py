"""``realcode bench generation``: tokens/s of the tiny model, Hugging Face back-end vs HTTP over loopback."""

from realcode.generation.bench import command

__all__ = ["command"]
