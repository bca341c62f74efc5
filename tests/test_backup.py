"""Backups that restore, on both backends: taken during ingest, verified, restored for real,
and refused (cut short, altered, re-signed, newer schema, another installation or key)
with nothing overwritten."""

from __future__ import annotations

import io
import itertools
import json
import tarfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from broadcaster.backup import archive
from broadcaster.backup.archive import BackupKey
from broadcaster.cli import main
from broadcaster.db import make_engine, transaction, utcnow
from broadcaster.models import Airing, Installation, JobRun, Station
from broadcaster.reports.periods import custom
from broadcaster.reports.seal import SealKey
from broadcaster.reports.store import generate
from tests.api.test_station_api import post, report
from tests.planning.fixtures import TZ

SECRET = "test"  # the world's (tests/api/world.py)


class Run:
    """``broadcaster`` in-process with the world's settings (and the backup folder)."""

    def __init__(self, world, tmp_path: Path) -> None:
        self.world = world
        self.url = world.settings.database_url
        self.env = {
            "BROADCASTER_DATABASE_URL": self.url,
            "BROADCASTER_SECRET_KEY": SECRET,
            "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BROADCASTER_AUDIO_DIR": str(world.settings.audio_dir),
            "BROADCASTER_BACKUP_DIR": str(tmp_path / "backups"),
            "BROADCASTER_CONFIG": None,
            "DATABASE_URL": None,
        }
        self.backups = tmp_path / "backups"

    def __call__(self, *args: str, **env: str | None):
        return CliRunner().invoke(main, list(args), env={**self.env, **env}, catch_exceptions=False)

    def backup(self, *args: str) -> Path:
        result = self("backup", *args)
        assert result.exit_code == 0, result.output
        return Path(result.output.splitlines()[0].split(": ", 1)[1])


@pytest.fixture
def run(world, tmp_path) -> Run:
    return Run(world, tmp_path)


def store_report(world) -> None:
    today = utcnow().astimezone(TZ).date()
    with transaction(world.factory) as s:
        generate(
            s,
            custom(today - timedelta(days=7), today, 15),
            key=SealKey.from_secret(SECRET),
            generated_by="test",
            tz=TZ,
        )


_BATCH = itertools.count(1)


def aired(world, n: int) -> None:
    """``n`` airings reported through the station API (slots in the last hours)."""
    back = utcnow() - timedelta(minutes=10 * next(_BATCH))
    starts = [back - timedelta(minutes=m) for m in range(n)]
    for slot_id in world.add_slots(world.station, starts, audio=False):
        assert post(world, {"reports": [report(slot_id)]}).status_code == 200


def rows(url: str) -> dict:
    """What must come back the same: the airing log, stations, the installation."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "airings": conn.execute(
                    select(Airing.station_id, Airing.seq, Airing.row_hash).order_by(
                        Airing.station_id, Airing.seq
                    )
                ).all(),
                "stations": conn.execute(select(Station.code).order_by(Station.code)).all(),
                "installation": conn.execute(select(Installation.id)).all(),
            }
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(db_url, tmp_path):
    """A database that holds nothing, on the world's backend."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh' / 'broadcaster.db'}"
        return
    name = f"broadcaster_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- taken during ingest, verified, restored ------------------------------------------------


def test_a_backup_taken_during_ingest_restores_and_verifies(world, run):
    aired(world, 3)
    store_report(world)
    now = utcnow()
    pending = world.add_slots(
        world.station, [now - timedelta(hours=2, seconds=s) for s in range(120)], audio=False
    )
    posted = threading.Event()
    errors: list[object] = []

    def ingest() -> None:
        for n, slot_id in enumerate(pending):
            answer = post(world, {"reports": [report(slot_id)]})
            if answer.status_code != 200:
                errors.append(answer.get_json())
            if n == 10:
                posted.set()
        posted.set()

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        assert posted.wait(60)
        files = [run.backup(), run.backup()]  # while reports keep coming in
    finally:
        thread.join(120)
    assert not errors
    total = len(pending) + 3
    for path in files:
        manifest = json.loads(_members(path)[archive.MANIFEST])["manifest"]
        assert 3 < manifest["row_counts"]["airings"] <= total
        verified = run("restore", "--verify", str(path))
        assert verified.exit_code == 0, verified.output
        assert "Chuỗi băm nhật ký phát: 2 đài" in verified.output or "nguyên vẹn" in verified.output
        assert "Báo cáo đã lưu: 1 báo cáo, tất cả kiểm chứng được" in verified.output
        assert "KẾT LUẬN: bản sao lưu khôi phục được và kiểm chứng đạt." in verified.output
    with world.factory() as s:
        runs = s.scalars(select(JobRun).where(JobRun.job == "backup")).all()
    assert [r.ok for r in runs] == [True, True]
    assert json.loads(runs[0].detail)["file"] == files[0].name


def test_real_restore_into_an_empty_database_gives_the_same_rows(world, run, empty_url):
    aired(world, 4)
    store_report(world)
    path = run.backup("-o", str(run.backups / "mine.tar"))
    restored = run("restore", str(path), BROADCASTER_DATABASE_URL=empty_url)
    assert restored.exit_code == 0, restored.output
    assert "Đã khôi phục vào" in restored.output
    assert rows(empty_url) == rows(run.url)
    # the restored copy proves itself, as the original does
    audit = run("audit", "verify", BROADCASTER_DATABASE_URL=empty_url)
    assert audit.exit_code == 0, audit.output
    # now it holds data: a second restore needs --replace, and then replaces
    again = run("restore", str(path), BROADCASTER_DATABASE_URL=empty_url)
    assert again.exit_code == 2
    assert "đang có dữ liệu" in again.output and "--replace" in again.output
    replaced = run("restore", str(path), "--replace", BROADCASTER_DATABASE_URL=empty_url)
    assert replaced.exit_code == 0, replaced.output
    assert rows(empty_url) == rows(run.url)


# -- refused, nothing overwritten ------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _resigned(path: Path, out: Path, secret: str = SECRET, **changes) -> Path:
    """The same backup with its manifest changed and signed again with ``secret``."""
    members = _members(path)
    manifest = json.loads(members[archive.MANIFEST])["manifest"] | changes
    key = BackupKey.from_secret(secret)
    manifest["key_fingerprint"] = key.fingerprint
    document = {"manifest": manifest, "signature": key.sign(manifest)}
    members[archive.MANIFEST] = json.dumps(document).encode()
    return _write(out, members)


def _dump_name(path: Path) -> str:
    return next(n for n in _members(path) if n.startswith("database."))


def test_bad_backups_are_refused_and_nothing_is_overwritten(world, run, tmp_path):
    aired(world, 2)
    good = run.backup()
    aired(world, 1)  # after the backup: a restore would lose it
    before = rows(run.url)
    bad = tmp_path / "bad"
    bad.mkdir()
    members = _members(good)
    dump = _dump_name(good)

    altered = dict(members)
    data = bytearray(altered[dump])
    data[len(data) // 2] ^= 0x01
    altered[dump] = bytes(data)
    tampered = _write(bad / "tampered.tar", altered)

    document = json.loads(members[archive.MANIFEST])
    document["manifest"]["members"][dump]["sha256"] = archive.hashlib.sha256(data).hexdigest()
    rewritten = _write(
        bad / "rewritten.tar", altered | {archive.MANIFEST: json.dumps(document).encode()}
    )

    whole = good.read_bytes()
    truncated = bad / "truncated.tar"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])

    cases = {
        tampered: "không khớp mã băm",
        rewritten: "chữ ký của manifest không đúng",
        truncated: "bị cắt cụt hoặc hỏng",
        _resigned(good, bad / "newer.tar", schema_revision="9999"): "phiên bản mới hơn",
        _resigned(good, bad / "other.tar", installation_id=str(uuid.uuid4())): "cài đặt khác",
        bad / "missing.tar": "Không thấy tệp sao lưu",
    }
    for path, words in cases.items():
        for args in (("restore", "--replace", str(path)), ("restore", "--verify", str(path))):
            if words == "cài đặt khác" and "--verify" in args:
                continue  # a scratch copy of another installation is no danger: see below
            result = run(*args)
            assert result.exit_code == 2, (path.name, args, result.output)
            assert "Lỗi: " in result.output and words in result.output, result.output
            assert "Traceback" not in result.output
        assert rows(run.url) == before, path.name
    # another key: said so, and which (the stored reports need the same key)
    other_key = run("restore", "--verify", str(good), BROADCASTER_SECRET_KEY="another-key")
    assert other_key.exit_code == 2
    assert "khóa bí mật khác" in other_key.output and "secret_key" in other_key.output
    # without --replace the real restore refuses the installation's own non-empty database
    plain = run("restore", str(good))
    assert plain.exit_code == 2 and "--replace" in plain.output
    assert rows(run.url) == before
    # the untouched backup still restores (with --replace, over the same installation)
    assert run("restore", "--replace", str(good)).exit_code == 0
    assert len(rows(run.url)["airings"]) == len(before["airings"]) - 1


def test_an_airing_edited_before_the_backup_fails_verification(world, run):
    aired(world, 3)
    engine = world.factory.kw["bind"]
    with engine.begin() as conn:  # someone with database access, before the backup
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER airings_no_update"))
        conn.execute(text("UPDATE airings SET note = 'sửa lén' WHERE seq = 2"))
    path = run.backup()  # a backup whose manifest is consistent with its (edited) dump
    result = run("restore", "--verify", str(path))
    assert result.exit_code == 1, result.output
    assert "SAI  đài" in result.output and "dòng số 2" in result.output
    assert "KHÔNG đạt kiểm chứng" in result.output


# -- retention, the job, the scheduler -------------------------------------------------------


def test_retention_keeps_the_newest(world, run):
    made = [run.backup() for _ in range(4)]
    kept = sorted(p.name for p in run.backups.glob("broadcaster-*.tar"))
    assert kept == sorted(p.name for p in made)  # 4 of the default 14
    run.env["BROADCASTER_BACKUP_KEEP"] = "2"
    newest = run.backup()
    kept = sorted(p.name for p in run.backups.glob("broadcaster-*.tar"))
    assert len(kept) == 2 and newest.name in kept
    assert not list(run.backups.glob(".restore-*"))  # the workspace is cleaned up


def test_the_backup_job_is_recorded_in_job_runs(world, run, monkeypatch):
    from broadcaster.scheduler.backup_job import backup_job

    for key, value in run.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("BROADCASTER_BACKUP_KEEP", "1")
    backup_job()
    backup_job()
    with world.factory() as s:
        runs = s.scalars(select(JobRun).where(JobRun.job == "backup").order_by(JobRun.id)).all()
    assert [r.ok for r in runs] == [True, True]
    assert all(r.finished_at is not None for r in runs)
    files = list(run.backups.glob("broadcaster-*.tar"))
    assert [f.name for f in files] == [json.loads(runs[-1].detail)["file"]]  # keep 1
    # a failure is recorded with its reason
    blocker = run.backups.parent / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("BROADCASTER_BACKUP_DIR", str(blocker))
    backup_job()
    with world.factory() as s:
        last = s.scalar(select(JobRun).where(JobRun.job == "backup").order_by(JobRun.id.desc()))
    assert last.ok is False and json.loads(last.detail)["error"]
    with pytest.raises(ValueError):
        backup_job(v=99)


def test_the_scheduler_fires_the_backup_at_the_backup_hour(world, run):
    from broadcaster.config import load_settings
    from broadcaster.scheduler import SchedulerService

    settings = load_settings(env={**run.env, "BROADCASTER_BACKUP_HOUR": "3"})
    service = SchedulerService(settings)
    try:
        scheduler = service._build()
        job = scheduler.get_job("backup")
        reports_job = scheduler.get_job("reports")
        ids = {j.id for j in scheduler.get_jobs()}
    finally:
        service.engine.dispose()
    assert {"plan", "watchdog", "render", "relays", "reports", "backup"} <= ids
    assert job.func_ref == "broadcaster.scheduler.backup_job:backup_job"
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("3", "0")
    assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    # the daily reports too fire at 06:00 Việt Nam time, whatever the machine's zone
    reports = {f.name: str(f) for f in reports_job.trigger.fields}
    assert (reports["hour"], reports["minute"]) == ("6", "0")
    assert str(reports_job.trigger.timezone) == "Asia/Ho_Chi_Minh"


@pytest.mark.postgres
def test_without_pg_dump_the_message_names_the_package(world, run, tmp_path):
    if not run.url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    result = run("backup", PATH=str(tmp_path))
    assert result.exit_code == 2
    assert "pg_dump" in result.output and "postgresql-client" in result.output
    assert not list(run.backups.glob("*.tar"))
    with world.factory() as s:
        last = s.scalar(select(JobRun).where(JobRun.job == "backup"))
        assert last.ok is False and "postgresql-client" in last.detail
        assert s.scalar(select(func.count()).select_from(JobRun)) == 1
