"""What every CLI command shares: settings, the database, the acting user, output."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from enum import Enum

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.config import Settings, load_settings
from broadcaster.db import make_engine, make_sessionmaker, migrate, transaction
from broadcaster.errors import InvalidInput
from broadcaster.services.audit import Actor, system_actor


class AppContext:
    """Lazily opened resources, so ``--help`` works without a database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            migrate(self._engine, self.settings.secret_key)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory, for commands that commit in several steps."""
        if self._factory is None:
            self._factory = make_sessionmaker(self.engine)
        return self._factory

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: all of a command's writes land, or none do."""
        with transaction(self.sessions) as session:
            yield session

    def local(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(self.settings.tz).strftime("%d/%m/%Y %H:%M")


pass_app = click.make_pass_decorator(AppContext)


def interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def password_option(help_text: str = "Mật khẩu (hoặc biến BROADCASTER_PASSWORD).") -> Callable:
    return click.option("--password", envvar="BROADCASTER_PASSWORD", default=None, help=help_text)


def user_options(required: bool) -> Callable:
    """``--user`` and ``--password`` for commands that act as a person."""

    def decorate(fn: Callable) -> Callable:
        fn = password_option()(fn)
        return click.option(
            "--user",
            "username",
            envvar="BROADCASTER_USER",
            required=False,
            default=None,
            help="Người thực hiện (hoặc biến BROADCASTER_USER)"
            + ("." if required else "; bỏ trống: quyền hệ thống."),
        )(fn)

    return decorate


def read_password(password: str | None, prompt: str, confirm: bool = False) -> str:
    if password:
        return password
    if interactive():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    raise InvalidInput("Thiếu mật khẩu: dùng --password hoặc biến môi trường BROADCASTER_PASSWORD.")


def acting(session: Session, username: str | None, password: str | None, required: bool) -> Actor:
    """Who the command acts as: an authenticated user, or the system."""
    from broadcaster.services.users import authenticate

    if not username:
        if required:
            raise InvalidInput("Lệnh này cần người thực hiện: --user TÊN (hoặc BROADCASTER_USER).")
        return system_actor()
    return authenticate(session, username, read_password(password, f"Mật khẩu của {username}"))


def progress_bar(length: int, label: str):
    """A progress bar on stderr; silent when stderr is not a terminal (scripts, logs)."""
    out = sys.stderr if sys.stderr.isatty() else io.StringIO()
    return click.progressbar(length=length, label=label, file=out, show_pos=True, show_percent=True)


def _plain(value):
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def echo_json(value) -> None:
    click.echo(json.dumps(_plain(value), ensure_ascii=False, indent=2))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
