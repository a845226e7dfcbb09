"""``python -m realcode.cli``: the same as the ``realcode`` command."""

from realcode.cli import main

main()
