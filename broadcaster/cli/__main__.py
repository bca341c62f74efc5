"""``python -m broadcaster.cli``: the same as the ``broadcaster`` command."""

from broadcaster.cli import main

main()
