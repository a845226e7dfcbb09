"""``python -m realcode``: the same as the ``realcode`` command."""

from realcode.cli import main

main()
