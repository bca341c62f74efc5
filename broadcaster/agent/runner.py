"""The agent's loop (vòng chạy của tác tử): when to pull, what to play, when to report.

Three threads share one agenda and one spool:

- the player (the calling thread) plays each due item at its planned time, an
  emergency first, and writes the airing report to the spool in the same
  transaction that marks the slot played;
- the sync thread pulls the playlist every ``poll_s`` (with its ETag), downloads
  audio, sends pending reports in batches and a heartbeat every ``heartbeat_s``,
  backing off while the server cannot be reached;
- the emergency thread long-polls ``/emergencies`` so an emergency interrupts
  what is playing within seconds instead of at the next poll.

A slot is played until it has aired once (an interrupted one is played again
while its window is open, up to ``max_attempts``); one whose window closed is
left alone — the server's watchdog marks it missed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

from broadcaster.agent.client import ApiClient, AuthRefused, Unavailable
from broadcaster.agent.clock import ClockDrift
from broadcaster.agent.listen import listen
from broadcaster.agent.players import (
    COMPLETED,
    ERROR,
    INTERRUPTED,
    Player,
    PlayOutcome,
    make_player,
)
from broadcaster.agent.relay import RelayOutcome, RelaySettings, plan_for, relay, report_for
from broadcaster.agent.schedule import Agenda, Item
from broadcaster.agent.spool import Report, Spool
from broadcaster.agent.sync import Every, Syncer
from broadcaster.errors import BroadcasterError

log = logging.getLogger("broadcaster.agent")

TICK = 0.5  # seconds between the sync thread's looks at its timetable
PROGRESS_EVERY = 5.0  # how often a playing slot's progress is noted (for crash reports)
STATUS = {COMPLETED: "aired", ERROR: "failed"}  # anything else was interrupted: partial


@dataclass
class AgentConfig:
    server: str
    token: str
    station: str
    folder: Path
    player: str | None = None  # the --player spec (see players.make_player)
    poll_s: float = 60.0
    heartbeat_s: float = 300.0
    long_poll: bool = True
    long_poll_wait: int = 50  # the server allows up to 55 s
    batch: int = 100
    max_attempts: int = 3
    retry_failed_s: float = 30.0
    relay_lead_s: float = 5.0  # a relay's stream is opened this long before its start
    relay_backup_after_s: float = 20.0  # a relay source silent this long: the next one
    relay_stall_s: float = 5.0  # a connected stream without sound this long is reopened
    # the certificate (or certificate authority) a server with its own TLS certificate is
    # checked against; None: the system's trusted authorities
    ca_file: Path | None = None

    def relay_settings(self) -> RelaySettings:
        return RelaySettings(
            lead_s=self.relay_lead_s,
            backup_after_s=self.relay_backup_after_s,
            stall_s=self.relay_stall_s,
        )


@dataclass
class _Playing:
    item: Item
    stop: threading.Event
    reason: str | None = None


class Runner:
    """One station's agent. :meth:`run` until :meth:`stop`; :meth:`run_once` for a sync."""

    def __init__(
        self,
        config: AgentConfig,
        player: Player | None = None,
        clock: ClockDrift | None = None,
    ) -> None:
        self.config = config
        self.folder = Path(config.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock or ClockDrift()
        self._player = player
        self.agenda = Agenda()
        self._lock = filelock.FileLock(str(self.folder / "agent.lock"), timeout=0)
        self.spool: Spool | None = None
        self.syncer: Syncer | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()  # the player looks again (new items, new audio)
        self._sync_now = threading.Event()  # the sync thread flushes at once
        self._playing: _Playing | None = None
        self._state_lock = threading.Lock()
        self._answering = threading.Lock()
        self._last_result: str | None = None
        self._retry_at: dict[int, float] = {}
        self._noted_closed: set[int] = set()
        self._started = self.clock.now()

    @property
    def player(self) -> Player:
        """Made when first needed: ``--once`` plays nothing, so needs no sound card."""
        if self._player is None:
            self._player = make_player(self.config.player)
        return self._player

    def _client(self) -> ApiClient:
        c = self.config
        return ApiClient(c.server, c.token, c.station, clock=self.clock, ca_file=c.ca_file)

    # -- life cycle ----------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise BroadcasterError(
                "Một tác tử khác đang chạy với thư mục {folder}; "
                "dừng nó trước (mỗi đài một tác tử).",
                folder=str(self.folder),
            ) from None
        try:
            self.spool = Spool(self.folder / "spool.db")
        except BaseException:
            self._lock.release()
            raise
        self.syncer = Syncer(
            self._client(), self.spool, self.agenda, self.folder, batch=self.config.batch
        )
        for report in self.spool.recover():
            log.warning(
                "Lượt %d đang phát thì tác tử bị dừng đột ngột: báo cáo 'partial' (%s–%s).",
                report.slot_id,
                self.agenda.local(report.started_at),
                self.agenda.local(report.ended_at),
            )

    def _close(self) -> None:
        # a long poll may still be out (it is not waited for); once it has the lock it sees
        # _stopping and leaves the spool alone
        with self._answering:
            if self.spool is not None:
                self.spool.close()
        self._lock.release()

    def stop(self) -> None:
        """Stop soon: what is playing is interrupted (and reported partial)."""
        self._stopping.set()
        self._wake.set()
        self._sync_now.set()
        with self._state_lock:
            if self._playing is not None:
                self._playing.reason = self._playing.reason or "tác tử được lệnh dừng"
                self._playing.stop.set()

    def run_once(self) -> int:
        """One sync — playlist, audio, reports, heartbeat — then exit: 0 ok, 1 server trouble."""
        self._open()
        try:
            log.info("Đồng bộ một lần với %s (đài %s).", self.config.server, self.config.station)
            ok = True
            for step in (self._pull_and_fetch, self.syncer.flush, self._heartbeat):
                try:
                    step()
                except Unavailable as exc:
                    log.warning("Không đồng bộ được: %s.", exc)
                    ok = False
                    break
            pending = self.spool.pending_count()
            log.info("Xong. Báo cáo chờ gửi: %d.", pending)
            return 0 if ok else 1
        finally:
            self._close()

    def run(self) -> int:
        """Play and sync until :meth:`stop`. A refused token at start raises AuthRefused."""
        self._open()
        threads: list[threading.Thread] = []
        try:
            c = self.config
            log.info(
                "Tác tử đài %s khởi động: máy chủ %s, thư mục %s, trình phát %s.",
                c.station,
                c.server,
                self.folder,
                self.player.describe(),
            )
            self.syncer.load_cached()
            try:
                self._pull_and_fetch()
            except Unavailable as exc:
                log.warning("Chưa nối được máy chủ (%s); sẽ thử lại.", exc)
            threads.append(self._thread(self._sync_loop, "dong-bo"))
            if c.long_poll:
                threads.append(self._thread(self._emergency_loop, "khan-cap"))
            self._play_loop()
        finally:
            self.stop()
            for thread in threads:  # the long poll is not waited out: it changes nothing now
                thread.join(timeout=10 if thread.name == "dong-bo" else 0.5)
            if not (threads and threads[0].is_alive()):  # else it is still sending them
                self._final_flush()
            self._close()
            log.info("Tác tử đã dừng.")
        return 0

    def _thread(self, target, name: str) -> threading.Thread:
        thread = threading.Thread(target=self._guard(target), name=name, daemon=True)
        thread.start()
        return thread

    def _guard(self, target):
        def run() -> None:
            try:
                target()
            except Exception:  # a bug: say so loudly, and stop rather than run half-blind
                log.exception("Lỗi không lường trước trong luồng %s; tác tử dừng.", target.__name__)
                self.stop()

        return run

    def _final_flush(self) -> None:
        if self.spool is None or not self.spool.pending_count():
            return
        try:
            self.syncer.flush()
        except (Unavailable, AuthRefused) as exc:
            log.warning("Chưa gửi được báo cáo trước khi dừng (%s); sẽ gửi lần sau.", exc)

    # -- sync thread ---------------------------------------------------------------------

    def _pull_and_fetch(self) -> None:
        self.syncer.pull(self._will_play)
        self._stop_withdrawn()
        self._wake.set()
        self.syncer.download_missing(self._will_play)
        self._preempt()

    def _stop_withdrawn(self) -> None:
        """An emergency cancelled while it plays (sent by mistake?) is cut off at once."""
        with self._state_lock:
            playing = self._playing
            if playing is None or not playing.item.is_emergency or playing.stop.is_set():
                return
            if self.agenda.get(playing.item.slot_id) is not None:
                return
            playing.reason = "tin khẩn cấp đã bị hủy"
            playing.stop.set()
        log.warning("Tin khẩn cấp “%s” đã bị hủy: ngừng phát.", playing.item.title)

    def _heartbeat(self) -> None:
        self.syncer.heartbeat(self.player_state)

    @property
    def player_state(self) -> str:
        if self._playing is not None:
            return "playing"
        return "error" if self._last_result == ERROR else "idle"

    def _sync_loop(self) -> None:
        c = self.config
        syncer = self.syncer
        tasks = {
            "pull": (Every(c.poll_s), self._pull_and_fetch),
            # a slot due without its audio asks again, but a missing file is not hammered
            "fetch": (Every(c.poll_s, gap=5.0), lambda: syncer.download_missing(self._will_play)),
            "flush": (Every(c.poll_s), syncer.flush),
            "heartbeat": (Every(c.heartbeat_s), self._heartbeat),
            "tidy": (Every(86_400), syncer.tidy),
        }
        tasks["pull"][0].done(time.monotonic())  # run() has just pulled
        tasks["fetch"][0].done(time.monotonic())
        last_progress = 0.0
        while not self._stopping.is_set():
            if self._sync_now.is_set():  # a report to send, or audio the player lacks
                self._sync_now.clear()
                tasks["flush"][0].hurry()
                tasks["fetch"][0].hurry()
            for name, (every, step) in tasks.items():
                if name == "flush" and not self.spool.pending_count():
                    continue
                if self._stopping.is_set() or not every.due(time.monotonic()):
                    continue
                try:
                    step()
                    every.done(time.monotonic())
                except Unavailable as exc:
                    wait = every.failed(time.monotonic(), exc.retry_after)
                    log.warning(
                        "Mất kết nối máy chủ (%s); %d báo cáo chờ gửi, thử lại sau %.0f giây.",
                        exc,
                        self.spool.pending_count(),
                        wait,
                    )
                except AuthRefused as exc:
                    every.failed(time.monotonic(), retry_after=c.poll_s)
                    log.error("%s Cần cấp lại mã cho đài (--token); vẫn phát lịch đã có.", exc)
            playing = self._playing
            if playing is not None and time.monotonic() - last_progress >= PROGRESS_EVERY:
                self.spool.still_playing(playing.item.slot_id, self.clock.now())
                last_progress = time.monotonic()
            self._sync_now.wait(TICK)

    # -- emergency thread ----------------------------------------------------------------

    def _emergency_loop(self) -> None:
        client = self._client()  # its own session: the long poll holds a connection

        def heard(answer: dict, after: int) -> int | None:
            with self._answering:  # the spool is not closed under us (see _close)
                if self._stopping.is_set():
                    return None
                return self._heard(answer, after, client)

        listen(
            client,
            heard,
            self._stopping,
            wait=self.config.long_poll_wait,
            ceiling=self.config.poll_s,
        )

    def _heard(self, answer: dict, after: int, client: ApiClient) -> int:
        """Take in a long poll's answer; returns the ``after`` for the next one."""
        items = [Item.from_json(i) for i in answer.get("items", [])]
        for item in items:
            try:
                self.syncer.fetch(item, client)  # before interrupting anything: ready to play
            except Unavailable as exc:
                log.warning("Chưa tải được tin khẩn cấp “%s”: %s.", item.title, exc)
        for item in self.agenda.add_emergencies(items, heard_at=time.monotonic()):
            log.warning(
                "TIN KHẨN CẤP: “%s” (lượt %d, phát %d lần).", item.title, item.slot_id, item.repeat
            )
        self._preempt()
        return max([after, int(answer.get("latest") or 0), *(i.emergency_id or 0 for i in items)])

    def _preempt(self) -> None:
        """An emergency is due: interrupt whatever else is playing."""
        self._wake.set()
        urgent = self._urgent()
        if urgent is None:
            return
        with self._state_lock:
            playing = self._playing
            if playing is None or playing.item.is_emergency or playing.stop.is_set():
                return
            playing.reason = f"ngắt để phát tin khẩn cấp “{urgent.title}”"
            playing.stop.set()
        log.warning(
            "Ngắt lượt %d “%s” để phát tin khẩn cấp.", playing.item.slot_id, playing.item.title
        )

    def _urgent(self) -> Item | None:
        return self.agenda.due(self.clock.now(), self._skip, emergencies_only=True)

    # -- player --------------------------------------------------------------------------

    def _done(self, item: Item) -> bool:
        """Nothing more to do for this slot (aired, given up on, or not the agent's to play)."""
        if item.status != "planned" or not (item.sha256 or item.is_relay):
            return True
        record = self.spool.play(item.slot_id)
        if record is None:
            return False
        return record.state == "aired" or record.attempts >= self.config.max_attempts

    def _will_play(self, item: Item) -> bool:
        return not self._done(item) and not item.closed_at(self.clock.now())

    def _skip(self, item: Item) -> bool:
        if self._done(item) or self._retry_at.get(item.slot_id, 0) > time.monotonic():
            return True
        if item.is_relay:  # its backup recording helps, but the stream does not wait for it
            return False
        if self.syncer.audio_path(item.sha256) is None:
            self._sync_now.set()  # not downloaded yet: the sync thread will try
            return True
        return False

    def _play_loop(self) -> None:
        while not self._stopping.is_set():
            now = self.clock.now()
            self._note_closed(now)
            lead = self.config.relay_lead_s
            item = self.agenda.due(now, self._skip, lead_s=lead)
            if item is not None:
                self._play(item)
                continue
            upcoming = self.agenda.next_start(now, self._done, lead_s=lead)
            wait = 5.0 if upcoming is None else (upcoming - now).total_seconds()
            self._wake.wait(min(max(wait, 0.05), 5.0))
            self._wake.clear()

    def _note_closed(self, now: datetime) -> None:
        for item in self.agenda.items():
            if item.slot_id in self._noted_closed or not item.closed_at(now):
                continue
            self._noted_closed.add(item.slot_id)
            if not self._done(item) and item.ends_at > self._started:
                missing = not item.is_relay and not self.syncer.audio_path(item.sha256)
                log.warning(
                    "Lượt %d “%s” đã hết khung giờ (%s) mà chưa phát được%s.",
                    item.slot_id,
                    item.title,
                    self.agenda.local(item.ends_at),
                    " (chưa tải được âm thanh)" if missing else "",
                )

    def _take(self, item: Item) -> _Playing | None:
        """Mark ``item`` as playing, unless the agent stops or an emergency came first."""
        playing = _Playing(item, threading.Event())
        with self._state_lock:
            if self._stopping.is_set():
                return None
            self._playing = playing
        if not item.is_emergency and self._urgent() is not None:
            # an emergency came in after this item was picked and before _preempt could see
            # it playing: leave it for the emergency (the loop picks that first)
            with self._state_lock:
                self._playing = None
            return None
        return playing

    def _play(self, item: Item) -> None:
        if item.is_relay:
            self._relay(item)
            return
        path = self.syncer.audio_path(item.sha256)
        if path is None:
            return
        playing = self._take(item)
        if playing is None:
            return
        attempt = self.spool.begin_play(item.slot_id, item.sha256, self.clock.now())
        log.info(
            "Bắt đầu phát lượt %d “%s”%s (dự kiến %s%s).",
            item.slot_id,
            item.title,
            " [KHẨN CẤP]" if item.is_emergency else "",
            self.agenda.local(item.planned_start),
            f", lần thử {attempt}" if attempt > 1 else "",
        )
        outcomes = []
        for n in range(item.repeat):
            outcome = self._play_file(path, playing.stop)
            outcomes.append(outcome)
            if not outcome.completed:
                break
            if n + 1 < item.repeat:
                log.info("Phát lặp lại lượt %d (lần %d/%d).", item.slot_id, n + 2, item.repeat)
        last = outcomes[-1]
        status = STATUS.get(last.result, "partial")
        notes = []
        if item.repeat > 1:
            notes.append(f"phát {sum(o.completed for o in outcomes)}/{item.repeat} lần")
        if status == "partial" and playing.reason:
            notes.append(playing.reason)
        if last.detail:
            notes.append(f"trình phát lỗi: {last.detail}")
        report = Report.new(
            item.slot_id,
            self.clock.to_server(outcomes[0].started_at),
            self.clock.to_server(last.ended_at),
            status,
            audio_sha256=item.sha256,
            note="; ".join(notes) or None,
        )
        self.spool.finish_play(report)
        with self._state_lock:
            self._playing = None
            self._last_result = last.result
        if status == "failed":
            self._retry_at[item.slot_id] = time.monotonic() + self.config.retry_failed_s
        seconds = (last.ended_at - outcomes[0].started_at).total_seconds()
        log_at = log.info if status == "aired" else log.warning
        log_at(
            "Phát xong lượt %d: %s sau %.1f giây%s.",
            item.slot_id,
            {"aired": "đã phát trọn", "partial": "phát dở", "failed": "LỖI"}[status],
            seconds,
            f" ({report.note})" if report.note else "",
        )
        self._sync_now.set()

    def _relay(self, item: Item) -> None:
        """A relay: its stream from (a little before) its start to its end, then its report.

        ``relayed_s`` counts the seconds of sound from every source; ``relay_used`` is the
        source that gave the most of them.
        """
        playing = self._take(item)
        if playing is None:
            return
        attempt = self.spool.begin_play(item.slot_id, None, self.clock.now())
        source = item.relay
        backup_file = self.syncer.audio_path(source.backup_audio_sha256)
        log.info(
            "Mở luồng tiếp âm lượt %d “%s” (%s; bắt đầu %s, dài %d giây%s%s).",
            item.slot_id,
            item.title,
            source.url,
            self.agenda.local(item.planned_start),
            item.duration_ms // 1000,
            ", có luồng dự phòng" if source.backup_url else "",
            ", có bản ghi dự phòng" if backup_file else "",
        )
        plan = plan_for(item, self.clock.now(), time.monotonic(), backup_file)
        try:
            outcome = relay(self.player, plan, playing.stop, self.config.relay_settings())
        except Exception as exc:  # a bug must not lose the report: it is a failed relay
            log.exception("Tiếp âm gặp lỗi không lường trước")
            at = datetime.now(UTC)
            outcome = RelayOutcome(at, at, ERROR, detail=str(exc) or type(exc).__name__)
        report = report_for(item, outcome, playing.reason, self.clock.to_server)
        status = report.status
        self.spool.finish_play(report)
        with self._state_lock:
            self._playing = None
            self._last_result = outcome.result
        if status == "failed" and outcome.result != INTERRUPTED:
            self._retry_at[item.slot_id] = time.monotonic() + self.config.retry_failed_s
        log_at = log.info if status == "aired" else log.warning
        log_at(
            "Tiếp âm xong lượt %d (lần %d): %s, %d/%d giây%s.",
            item.slot_id,
            attempt,
            {"aired": "đủ", "partial": "thiếu", "failed": "LỖI"}[status],
            outcome.relayed_s,
            item.duration_ms // 1000,
            f" ({report.note})" if report.note else "",
        )
        self._sync_now.set()

    def _play_file(self, path: Path, stop: threading.Event) -> PlayOutcome:
        try:
            return self.player.play(path, stop)
        except Exception as exc:  # a player must not raise; if one does, it is a failed play
            log.exception("Trình phát gặp lỗi không lường trước")
            now = datetime.now(UTC)
            return PlayOutcome(now, now, ERROR, str(exc) or type(exc).__name__)
