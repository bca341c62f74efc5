"""The ``broadcaster`` command: a thin shell over :mod:`broadcaster.services`.

Every command runs in one database transaction; bad input prints a message
naming what to fix and exits with status 2. Nothing prompts when stdin is not
a terminal, so offices can script every command.
"""

from __future__ import annotations

import functools
import sys

import click

from broadcaster import __version__
from broadcaster.cli.context import AppContext
from broadcaster.errors import BroadcasterError

# Where a service names a field by another name than the command's parameter for it
_PARAMETER_OF = {
    "targets": "units",
    "scripts": "scripts",
    "preferred": "window",
    "version": "number",  # a script's version: --version
    "user": "username",  # the acting person: --user
}


class _Group(click.Group):
    """Turns :class:`BroadcasterError` into a clear message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BroadcasterError as exc:
            flag = getattr(exc, "flag", None)
            click.echo(f"Lỗi: {exc.message}" + (f" ({flag})" if flag else ""), err=True)
            ctx.exit(exc.exit_code)


def flag_for(command: click.Command, field: str | None) -> str | None:
    """How ``command`` is told the value of a service's ``field``: ``--to``, ``SLUG``."""
    if not field:
        return None
    for name in (field, _PARAMETER_OF.get(field)):
        for param in command.params:
            if name and param.name == name:
                if isinstance(param, click.Option):
                    return max(param.opts, key=len)
                return param.human_readable_name
    return None


def _naming_flags(command: click.Command) -> None:
    """Make ``command`` tag the errors it lets through with the flag of their field."""
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def tagged(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except BroadcasterError as exc:
            if getattr(exc, "flag", None) is None:
                exc.flag = flag_for(command, exc.field)
            raise

    command.callback = tagged


def _every_command(group: click.Group):
    for command in group.commands.values():
        if isinstance(command, click.Group):
            yield from _every_command(command)
        else:
            yield command


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
        backup,
        campaigns,
        deploy,
        emergency,
        instance,
        planning,
        relays,
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
        relays,
        planning,
        scheduler,
        tts,
        airings,
        reports,
        emergency,
        agent,
        backup,
        deploy,
    )
    for module in modules:
        module.register(main)
    for command in _every_command(main):
        _naming_flags(command)


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
