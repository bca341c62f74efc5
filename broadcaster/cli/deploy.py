"""``broadcaster deploy config``: the province's server files with this installation's paths (docs/deploy.md)."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    pass
