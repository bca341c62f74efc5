"""PostgreSQL's side of a backup: ``pg_dump -Fc`` out, ``pg_restore`` back in.

The client programs come from Debian's ``postgresql-client`` package; a clear message
names it when they are missing. The password never goes on a command line (other users
of the host could read it there): it is passed in ``PGPASSWORD``.

A dump is taken under a snapshot the caller exported (``pg_export_snapshot()``), so the
facts the manifest states (row counts, the installation, the schema revision, the audio
list) are read from the very state the dump holds, even while stations keep reporting.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from broadcaster.errors import BroadcasterError

PACKAGE = "postgresql-client"
SCRATCH_PREFIX = "broadcaster_verify_"
# A real restore empties the target in the same transaction as it loads the dump: a
# restore that fails half-way leaves the database as it was.
_EMPTY_SCHEMA = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"


def tool(name: str) -> str:
    """The path of a PostgreSQL client program, or a message naming the package."""
    found = shutil.which(name)
    if found is None:
        raise BroadcasterError(
            "Không thấy chương trình {name} của PostgreSQL: cài gói {package} "
            "(sudo apt install {package}) rồi chạy lại.",
            name=name,
            package=PACKAGE,
        )
    return found


def connection(url: str | URL) -> tuple[str, dict[str, str]]:
    """(libpq connection string without the password, environment with PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    u = make_url(url)
    parts = {
        "dbname": u.database,
        "user": u.username,
        "host": u.host,
        "port": str(u.port) if u.port else None,
    }
    parts.update({k: str(v) for k, v in u.query.items()})
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return make_conninfo(**{k: v for k, v in parts.items() if v}), env


def _failed(program: str, stderr: bytes) -> BroadcasterError:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return BroadcasterError(
        "{program} không chạy xong: {reason}",
        program=program,
        reason=" ".join(lines[-3:]) or "không rõ lý do",
    )


def dump(url: str, out: Path, snapshot: str | None = None) -> str:
    """``pg_dump -Fc`` of the database into ``out``; answers pg_dump's version line."""
    program = tool("pg_dump")
    conninfo, env = connection(url)
    args = [program, "-Fc", "-f", str(out), f"--dbname={conninfo}"]
    if snapshot:
        args.insert(-1, f"--snapshot={snapshot}")
    done = subprocess.run(args, env=env, capture_output=True)
    if done.returncode != 0:
        raise _failed("pg_dump", done.stderr)
    return subprocess.run([program, "--version"], capture_output=True, text=True).stdout.strip()


def restore_fresh(url: str, dump_file: Path) -> None:
    """Load a dump into an empty database that was just created for it."""
    conninfo, env = connection(url)
    args = [tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error"]
    done = subprocess.run(
        [*args, f"--dbname={conninfo}", str(dump_file)], env=env, capture_output=True
    )
    if done.returncode != 0:
        raise _failed("pg_restore", done.stderr)


def restore_replacing(url: str, dump_file: Path) -> None:
    """Empty the database and load the dump, in ONE transaction (psql --single-transaction)."""
    conninfo, env = connection(url)
    script = subprocess.Popen(
        [tool("pg_restore"), "--no-owner", "--no-acl", "-f", "-", str(dump_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert script.stdout is not None
    load = subprocess.run(
        [
            tool("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-c",
            _EMPTY_SCHEMA,
            "-f",
            "-",
            f"--dbname={conninfo}",
        ],
        stdin=script.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    script.stdout.close()
    script_err = script.stderr.read() if script.stderr else b""
    script.wait()
    if script.returncode != 0:
        raise _failed("pg_restore", script_err)
    if load.returncode != 0:
        raise _failed("psql", load.stderr)


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty database on the same server as ``url``, dropped afterwards."""
    base = make_url(url)
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise BroadcasterError(
            "Không tạo được cơ sở dữ liệu tạm trên máy chủ PostgreSQL ({reason}). Cần quyền "
            "CREATEDB, hoặc chỉ một cơ sở dữ liệu trống bằng --scratch-url.",
            reason=str(getattr(exc, "orig", exc)).strip().splitlines()[0],
        ) from None
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(SQLAlchemyError), admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
