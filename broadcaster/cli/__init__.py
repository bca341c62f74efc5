"""The ``broadcaster`` command: a thin shell over :mod:`broadcaster.services`.

Every command runs in one database transaction; bad input prints a message
naming what to fix and exits with status 2. Nothing prompts when stdin is not
a terminal, so offices can script every command.
"""

from __future__ import annotations

import sys

import click

from broadcaster import __version__
from broadcaster.cli.context import AppContext
from broadcaster.errors import BroadcasterError


class _Group(click.Group):
    """Turns :class:`BroadcasterError` into a clear message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BroadcasterError as exc:
            click.echo(f"Lỗi: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="broadcaster")
@click.pass_context
def main(ctx: click.Context) -> None:
    """broadcaster — quản lý tin bài và lịch phát cho đài truyền thanh cơ sở.

    Scheduled announcements for Vietnam's grassroots loudspeaker radio.
    Configuration comes from BROADCASTER_* environment variables (see README).
    """
    ctx.obj = AppContext()


def _register() -> None:
    from broadcaster.cli import (
        agent,
        airings,
        campaigns,
        emergency,
        instance,
        planning,
        reports,
        scheduler,
        scripts,
        stations,
        tts,
        units,
        users,
    )

    modules = (
        instance,
        units,
        stations,
        users,
        scripts,
        campaigns,
        planning,
        scheduler,
        tts,
        airings,
        reports,
        emergency,
        agent,
    )
    for module in modules:
        module.register(main)


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
