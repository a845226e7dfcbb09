"""realcode: rewards and evaluation for code language models from program analysis and unit tests."""

__version__ = "0.1.0"
