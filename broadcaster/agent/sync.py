"""The agent's side of the conversation with the server: pull, download, report, heartbeat.

Each step is one method the runner calls on its own timetable (:class:`Every`), and
``--once`` calls in a row. Network trouble comes out as
:class:`~broadcaster.agent.client.Unavailable` for the runner to retry later; nothing
here loses a report: a report leaves the spool's ``pending`` state only when the
server has answered for it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import broadcaster
from broadcaster.agent.client import ApiClient, AudioMismatch, Refused, Unavailable, jittered
from broadcaster.agent.listen import RETRY_FLOOR_S
from broadcaster.agent.schedule import Agenda, Item
from broadcaster.agent.spool import Report, Spool

log = logging.getLogger("broadcaster.agent")

DRIFT_WARN = 5.0  # seconds: worth an operator's look (and NTP)
KEEP_AUDIO = timedelta(days=14)  # a rerun campaign within two weeks needs no new download


class Every:
    """A task's timetable: due every ``interval``; backing off after failures; brought
    forward on request, but never to run again within ``gap`` seconds."""

    def __init__(self, interval: float, gap: float = 1.0) -> None:
        self.interval = interval
        self.gap = gap
        self.next_at = 0.0
        self.last_at = float("-inf")
        self.failures = 0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def hurry(self) -> None:
        """Run as soon as the gap allows (not while backing off: the server is away)."""
        if self.failures == 0:
            self.next_at = min(self.next_at, self.last_at + self.gap)

    def done(self, now: float) -> None:
        self.failures = 0
        self.last_at = now
        self.next_at = now + self.interval

    def failed(self, now: float, retry_after: float | None = None) -> float:
        self.failures += 1
        self.last_at = now
        wait = max(RETRY_FLOOR_S, min(self.interval, 5.0 * 2 ** (self.failures - 1)))
        self.next_at = now + jittered(max(wait, retry_after or 0.0))
        return self.next_at - now


class Syncer:
    """Pulls the playlist and audio into the agent's folder and pushes reports out."""

    def __init__(
        self, client: ApiClient, spool: Spool, agenda: Agenda, folder: Path, batch: int = 100
    ) -> None:
        self.client = client
        self.spool = spool
        self.agenda = agenda
        self.folder = folder
        self.audio_dir = folder / "audio"
        self.batch = batch
        self.last_sync_at: datetime | None = None
        self._summary: tuple | None = None
        self._drift_logged: float | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- playlist ------------------------------------------------------------------------

    def load_cached(self) -> bool:
        """The last playlist from the spool, so the agent plays on without the server."""
        cached = self.spool.cached_playlist()
        if cached is None:
            return False
        self.agenda.set_playlist(cached[0], asked_at=float("-inf"))
        log.info(
            "Dùng danh sách phát đã lưu (ngày %s) cho đến khi nối được máy chủ.",
            cached[0].get("date"),
        )
        return True

    def pull(self, wanted=None) -> list[Item]:
        """Ask for the playlist with the cached ETag; returns emergencies it dropped.

        ``wanted(item)`` says whether the agent will still play an item (for the log).
        """
        asked_at = time.monotonic()
        cached = self.spool.cached_playlist()
        answer = self.client.playlist(cached[1] if cached else None)
        if answer.document is None and cached is not None:
            document = cached[0]
        else:
            document = answer.document or {"items": []}
            self.spool.save_playlist(document, answer.etag)
        dropped = self.agenda.set_playlist(document, asked_at)
        self.last_sync_at = datetime.now(UTC)
        for item in dropped:
            log.warning("Tin khẩn cấp “%s” đã bị hủy hoặc hết hạn: không phát.", item.title)
        self._log_summary(document, wanted)
        self._log_drift()
        return dropped

    def _log_summary(self, document: dict[str, Any], wanted) -> None:
        now = self.client.clock.now()
        items = self.agenda.items()
        ahead = [
            i
            for i in items
            if i.status == "planned" and not i.closed_at(now) and (wanted is None or wanted(i))
        ]
        summary = (document.get("date"), len(items), len(ahead), tuple(i.slot_id for i in ahead))
        if summary == self._summary:
            return  # unchanged (a 304, or the same content): not news
        self._summary = summary
        first = min((i.planned_start for i in ahead if i.planned_start), default=None)
        log.info(
            "Danh sách phát ngày %s: %d mục, %d còn phải phát%s.",
            document.get("date"),
            len(items),
            len(ahead),
            f", mục sớm nhất lúc {self.agenda.local(first)}" if first else "",
        )

    def _log_drift(self) -> None:
        drift = self.client.clock.drift_s
        if drift is None:
            return
        big = abs(drift) >= DRIFT_WARN
        if self._drift_logged is None and not big:
            self._drift_logged = drift
            return
        if self._drift_logged is not None and abs(drift - self._drift_logged) < DRIFT_WARN:
            return
        self._drift_logged = drift
        way = "nhanh" if drift > 0 else "chậm"
        if big:
            log.warning(
                "Đồng hồ máy đài %s %.1f giây so với máy chủ: phát và báo cáo theo giờ máy "
                "chủ; nên bật đồng bộ giờ (NTP) cho máy đài.",
                way,
                abs(drift),
            )
        else:
            log.info("Đồng hồ máy đài đã khớp với máy chủ (lệch %.1f giây).", drift)

    # -- audio ---------------------------------------------------------------------------

    def audio_path(self, sha256: str | None) -> Path | None:
        if not sha256:
            return None
        path = self.audio_dir / f"{sha256}.mp3"
        return path if path.is_file() else None

    def fetch(self, item: Item, client: ApiClient | None = None) -> Path | None:
        """An item's audio on disk (downloaded now if need be); None if it cannot be had.

        ``client``: another thread's client (a requests session is not shared by threads).
        """
        sha = item.file_sha256  # a relay's: its backup recording
        if not sha:
            return None
        with self._lock_for(sha):  # two threads never write one .part file
            have = self.audio_path(sha)
            if have is not None:
                return have
            return self._download(item, client or self.client)

    def _lock_for(self, sha256: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(sha256, threading.Lock())

    def _download(self, item: Item, client: ApiClient) -> Path | None:
        sha = item.file_sha256
        try:
            path = client.download(sha, self.audio_dir, item.size if sha == item.sha256 else None)
        except AudioMismatch as exc:
            log.error("Âm thanh của lượt %d “%s”: %s.", item.slot_id, item.title, exc)
            return None
        except Refused as exc:
            log.warning("Chưa tải được âm thanh lượt %d: %s", item.slot_id, exc.message)
            return None
        log.info(
            "Đã tải âm thanh lượt %d “%s” (%s…, %s byte).",
            item.slot_id,
            item.title,
            sha[:12],
            f"{path.stat().st_size:,}".replace(",", "."),
        )
        return path

    def download_missing(self, wanted) -> int:
        """Audio for every item ``wanted(item)`` says will play; returns how many are missing.

        Raises :class:`Unavailable` when the network fails (the rest waits for next time).
        """
        missing = 0
        for item in self.agenda.items():
            if item.file_sha256 and wanted(item) and self.fetch(item) is None:
                missing += 1
        return missing

    def tidy(self, now: float | None = None) -> int:
        """Forget old sent reports, and audio no playlist item needs that is :data:`KEEP_AUDIO`
        old (a station PC's disk is small); returns how many files went."""
        self.spool.prune()
        wanted = {i.file_sha256 for i in self.agenda.items() if i.file_sha256}
        cutoff = (now or time.time()) - KEEP_AUDIO.total_seconds()
        gone = 0
        for path in self.audio_dir.glob("*.mp3*"):
            sha = path.name.split(".", 1)[0]
            if sha not in wanted and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                gone += 1
        if gone:
            log.info("Đã xóa %d tệp âm thanh cũ không còn trong danh sách phát.", gone)
        return gone

    # -- reports -------------------------------------------------------------------------

    def flush(self) -> int:
        """Send pending reports in batches; returns how many the server now has."""
        done = 0
        while True:
            batch = self.spool.pending(self.batch)
            if not batch:
                return done
            try:
                answer = self.client.post_airings([r.to_api() for r in batch])
            except Refused as exc:
                self._refused(batch, exc)
                continue
            held = _held(answer, batch)
            self.spool.mark_sent(held)
            done += len(held)
            log.info(
                "Đã gửi %d báo cáo lượt phát (mới %s, đã có từ trước %s).",
                len(held),
                answer.get("stored", "?"),
                answer.get("duplicates", "?"),
            )
            if len(held) < len(batch):
                raise Unavailable(
                    f"máy chủ không xác nhận {len(batch) - len(held)} báo cáo; sẽ gửi lại"
                )

    def _refused(self, batch: list[Report], exc: Refused) -> None:
        """A refused batch was stored in no part: set aside the bad reports, keep the rest."""
        named = {
            d["index"]: d
            for d in exc.details
            if isinstance(d, dict) and isinstance(d.get("index"), int) and d["index"] < len(batch)
        }
        if named:
            for index, detail in named.items():
                self._reject(batch[index], f"{detail.get('field', '?')}: {detail.get('message')}")
        elif len(batch) == 1:
            self._reject(batch[0], exc.message)
        else:  # the server did not say which: find out one at a time
            for report in batch:
                try:
                    answer = self.client.post_airings([report.to_api()])
                except Refused as single:
                    self._refused([report], single)
                    continue
                held = _held(answer, [report])
                if not held:
                    raise Unavailable(f"máy chủ không xác nhận báo cáo {report.id}; sẽ gửi lại")
                self.spool.mark_sent(held)

    def _reject(self, report: Report, reason: str) -> None:
        self.spool.mark_rejected(report.id, reason)
        log.error(
            "Máy chủ từ chối báo cáo %s (lượt %d, %s): %s. Báo cáo được giữ trong spool, "
            "không gửi lại.",
            report.id,
            report.slot_id,
            report.status,
            reason,
        )

    # -- heartbeat -----------------------------------------------------------------------

    def heartbeat(self, player_state: str) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        beat = {
            "agent_version": broadcaster.__version__,
            "free_disk_bytes": shutil.disk_usage(self.folder).free,
            "last_sync_at": iso(self.last_sync_at),
            "player_state": player_state,
            "clock_drift_s": self.client.clock.drift_s,
            "spool_pending": self.spool.pending_count(),
            # the station's own clock, uncorrected: the server can see the drift itself
            "sent_at": iso(datetime.now(UTC)),
        }
        answer = self.client.heartbeat({k: v for k, v in beat.items() if v is not None})
        log.debug("Nhịp tim đã gửi: %s", beat)
        return answer


__all__ = ["Every", "Syncer", "Unavailable"]


def _held(answer: dict, batch: list[Report]) -> dict[str, int]:
    """The reports of ``batch`` the server says it has (stored or duplicate), with their
    sequence numbers. Only these leave the spool; any other is sent again."""
    wanted = {r.id for r in batch}
    held = {}
    for result in answer.get("results") or []:
        if not isinstance(result, dict):
            continue
        seq = result.get("seq")
        if result.get("id") in wanted and isinstance(seq, int) and not isinstance(seq, bool):
            held[result["id"]] = seq
    return held
