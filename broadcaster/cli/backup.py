"""``broadcaster backup`` and ``broadcaster restore``: backups that restore (docs/backup.md)."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    pass
