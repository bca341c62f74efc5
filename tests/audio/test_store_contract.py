"""The audio store's interface, run against every store there is (today: the folder),
and the render lock on each database.

A new store (an S3-compatible one) joins by adding itself to ``STORE_MAKERS``: the
same contract then runs against it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from broadcaster.audio.locks import ADVISORY_CLASS, RenderLock, advisory_key
from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.audio.stores import AssetRecord, AudioStore, Piece, open_store, store_name
from broadcaster.audio.stores.folder import TEMP_PREFIX, FolderStore, temporary_prefix
from broadcaster.config import AudioSettings, ConfigError, load_settings
from broadcaster.db import make_engine
from broadcaster.errors import BroadcasterError
from broadcaster.services.audio import render_lock_for, renderer_for

SHA = "ab" + "3" * 62


def folder_store(tmp_path: Path) -> AudioStore:
    return open_store(tmp_path / "audio", RenderLock(tmp_path / "locks"))


STORE_MAKERS = {"folder": folder_store}


@pytest.fixture(params=sorted(STORE_MAKERS))
def store(request, tmp_path) -> AudioStore:
    return STORE_MAKERS[request.param](tmp_path)


def record(sha: str = SHA, size: int = 3) -> AssetRecord:
    return AssetRecord(
        sha256=sha,
        engine="espeak",
        requested_engine="espeak",
        voice="vi",
        speed=1.0,
        title="Thông báo",
        station_code=None,
        text="bà con chú ý",
        duration_ms=1000,
        loudness_lufs=-16.0,
        true_peak_db=-1.5,
        size_bytes=size,
        bitrate_kbps=64,
        sample_rate=44_100,
        settings={"target_lufs": -16.0},
        format_version=1,
    )


def stray_files(store: AudioStore, root: Path) -> list[str]:
    return [p.name for p in root.rglob(f"{TEMP_PREFIX}*")]


# -- the contract ------------------------------------------------------------------------


def test_an_asset_counts_only_once_published_and_recorded(store, tmp_path):
    assert store.get(SHA) is None and store.served(SHA) is None
    with store.temporary_mp3(SHA) as tmp:
        tmp.write_bytes(b"ID3")
        assert store.get(SHA) is None  # being written: not there
        path = store.publish(tmp, SHA)
    assert path == store.asset_path(SHA) and path.read_bytes() == b"ID3"
    assert store.get(SHA) is None  # the file without its record is not an asset yet
    store.put_record(record())
    assert store.get(SHA) == record() and store.get(SHA, fresh=True) == record()
    served = store.served(SHA)
    assert served is not None and (served.path == path or served.url)
    assert store.relative(path) == f"assets/ab/{SHA}.mp3"
    assert store.file(store.relative(path)).read_bytes() == b"ID3"
    assert stray_files(store, tmp_path) == []


def test_a_write_that_fails_leaves_nothing(store, tmp_path):
    with pytest.raises(RuntimeError), store.temporary_mp3(SHA) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the encoder died")
    assert store.get(SHA) is None and store.served(SHA) is None
    assert stray_files(store, tmp_path) == []


def test_a_record_without_its_audio_or_unreadable_is_a_miss(store, tmp_path):
    store.put_record(record())
    assert store.get(SHA) is None  # no audio: render again
    with store.temporary_mp3(SHA) as tmp:
        tmp.write_bytes(b"ID3")
        store.publish(tmp, SHA)
    assert store.get(SHA) is not None


def test_pieces_are_kept_whole(store, tmp_path):
    piece_sha = "cd" + "4" * 62
    assert store.read_piece(piece_sha) is None
    store.write_piece(piece_sha, "wav", b"RIFF....")
    assert store.read_piece(piece_sha) == Piece("wav", b"RIFF....")
    assert stray_files(store, tmp_path) == []


def test_making_an_asset_holds_the_stores_lock(store):
    inside = []
    with store.lock(SHA):
        inside.append(True)
    assert inside == [True]
    reading = open_store(Path("/nonexistent/audio"))  # opened to serve only
    with pytest.raises(RuntimeError), reading.lock(SHA):
        pass


def test_the_renderer_works_through_any_store(store, tmp_path):
    renderer = AudioRenderer(store, AudioSettings(engine="espeak"))
    made = renderer.render(RenderRequest("Bà con chú ý.", title="t"))
    again = renderer.render(RenderRequest("Bà con chú ý.", title="t"))
    assert (made.cached, again.cached) == (False, True)
    assert store.get(made.record.sha256) == made.record
    assert stray_files(store, tmp_path) == []


# -- the folder store on a shared folder ----------------------------------------------------


def test_temporary_names_say_which_host_and_process(tmp_path):
    store = FolderStore(tmp_path / "audio")
    with store.temporary_mp3(SHA) as tmp:
        assert tmp.parent == store.asset_path(SHA).parent  # renamed within its folder
        assert tmp.name.startswith(temporary_prefix())
        assert f"-{os.getpid()}-" in tmp.name
        assert store.leftovers() == [tmp]
    assert store.leftovers() == []


def test_a_file_outside_the_audio_folder_is_refused(tmp_path):
    store = FolderStore(tmp_path / "audio")
    with pytest.raises(ValueError):
        store.file("../secret_key")


# -- choosing the store ------------------------------------------------------------------


def test_a_folder_or_file_url_is_the_folder_store(tmp_path):
    assert store_name(tmp_path) == "folder" and store_name(str(tmp_path)) == "folder"
    assert isinstance(open_store(f"file://{tmp_path}"), FolderStore)
    assert open_store(f"file://{tmp_path}").root == tmp_path


def test_an_object_store_is_refused_today_with_what_it_would_take(tmp_path):
    with pytest.raises(BroadcasterError, match=r"s3://.*chưa có.*stores/s3\.py"):
        open_store("s3://loa-phuong/audio")
    with pytest.raises(BroadcasterError, match="Không hiểu kho âm thanh"):
        open_store("ftp://host/audio")
    with pytest.raises(ConfigError, match=r"docs/audio-store\.md"):
        load_settings(env={"BROADCASTER_AUDIO_DIR": "s3://loa-phuong/audio"}, cwd=tmp_path)
    settings = load_settings(env={"BROADCASTER_AUDIO_DIR": f"file://{tmp_path}/a"}, cwd=tmp_path)
    assert settings.audio_dir == tmp_path / "a"


# -- the render lock ------------------------------------------------------------------------


def test_advisory_keys_fit_postgresql_and_follow_the_sha():
    assert advisory_key("ffffffff" + "0" * 56) == -1
    assert advisory_key("7fffffff" + "0" * 56) == 2**31 - 1
    assert advisory_key("80000000" + "0" * 56) == -(2**31)
    assert advisory_key("00000000" + "f" * 56) == 0


def test_the_installation_renderer_locks_in_the_hosts_own_folder(db_url, tmp_path):
    env = {
        "BROADCASTER_DATABASE_URL": db_url,
        "BROADCASTER_AUDIO_DIR": str(tmp_path / "shared"),
        "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    settings = load_settings(env=env, cwd=tmp_path)
    lock = render_lock_for(settings)
    assert lock.lock_dir == tmp_path / "instance" / "locks"
    assert lock.across_hosts == db_url.startswith("postgresql")
    renderer = renderer_for(settings)
    assert renderer.store.render_lock.lock_dir == lock.lock_dir
    made = renderer.render(RenderRequest("Bà con chú ý.", title="t"), engine="espeak")
    assert not made.cached and made.path.is_relative_to(tmp_path / "shared")
    assert not (tmp_path / "shared" / "locks").exists()  # never in the shared folder
    assert list((tmp_path / "instance" / "locks").glob("*.lock"))


@pytest.mark.postgres
def test_the_database_lock_holds_between_lock_folders_and_times_out_clearly(
    postgres_database, tmp_path
):
    here = RenderLock(tmp_path / "a", postgres_database)
    there = RenderLock(tmp_path / "b", postgres_database, timeout_s=0.3)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with here.hold(SHA):
            held.set()
            release.wait(60)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert held.wait(60)
        engine = make_engine(postgres_database)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :cls AND objid = (:key)::oid AND granted"
                ),
                {"cls": ADVISORY_CLASS, "key": advisory_key(SHA) & 0xFFFFFFFF},
            ).scalar()
        engine.dispose()
        assert rows == 1
        with pytest.raises(BroadcasterError, match="đang tạo cùng bản âm thanh"), there.hold(SHA):
            pass
        with there.hold("cd" + SHA[2:]):  # another asset does not wait
            pass
    finally:
        release.set()
        worker.join(60)
    with there.hold(SHA):  # let go at the end of the block
        pass
    here.close()
    there.close()


def test_a_lost_database_says_so(tmp_path):
    lock = RenderLock(tmp_path / "a", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(BroadcasterError, match="Không kết nối được cơ sở dữ liệu"), lock.hold(SHA):
        pass


def test_on_sqlite_the_lock_is_the_file_lock_alone(tmp_path):
    lock = RenderLock(tmp_path / "locks", f"sqlite:///{tmp_path / 'db.sqlite'}", timeout_s=0.2)
    assert not lock.across_hosts
    other = RenderLock(tmp_path / "locks", None, timeout_s=0.2)
    with lock.hold(SHA), pytest.raises(BroadcasterError, match="thử lại sau"), other.hold(SHA):
        pass
    with other.hold(SHA):
        pass
    with pytest.raises(ValueError):
        RenderLock(None, f"sqlite:///{tmp_path / 'db.sqlite'}")
