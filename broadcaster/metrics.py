"""What the server tells Prometheus: every series counted in the processes, defined once,
and the small calls the rest of the code makes when something happens.

Series counted where things happen (this module): playlist pulls, airing reports,
emergency pick-ups (the fan-out histogram), render failures, sign-in failures, and
the stations holding an emergency long-poll in this process. Series read from the
database when Prometheus asks (stations online and offline, the render queue, the
scheduler's runs) are :mod:`broadcaster.services.monitoring`'s; ``/metrics`` itself
is :mod:`broadcaster.webapp.metrics`. docs/metrics.md says what each series means.

One process (``broadcaster serve``) keeps its values in memory, in prometheus_client's
default registry. Several processes on one host (gunicorn's workers, and any scheduler
or command sharing the environment) add theirs up when ``PROMETHEUS_MULTIPROC_DIR``
names a folder they share: each process writes its own files there, and the process
answering ``/metrics`` reads them all (prometheus_client's multiprocess mode). The
variable must be set before the process starts (it is read when the first series is
made); gunicorn's master calls :func:`forget_dead_processes` once at start and
:func:`process_gone` when a worker exits (``deploy/gunicorn.conf.py``).

The series are made on first use, not at import: a command that counts nothing
(``broadcaster audit verify``) leaves no file in the shared folder.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import threading
from collections.abc import Callable, Iterable

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds from an emergency's sending to a station's picking it up: a station waiting on
# a long-poll hears within a second; one that only pulls its playlist, within its poll
# interval (a minute or so); beyond five minutes the station was away.
FANOUT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

PULL_RESULTS = ("full", "not_modified")
PULL_VIA = ("token", "link")
REPORT_RESULTS = ("accepted", "duplicate", "refused")
RENDER_REASONS = ("engine", "input", "error")
SIGN_IN_KINDS = ("admin", "station_token", "station_link")
SIGN_IN_OUTCOMES = ("wrong", "throttled")


def multiprocess_dir() -> str | None:
    """The shared folder of multiprocess mode, or None (one process, values in memory)."""
    return os.environ.get(MULTIPROC_ENV) or None


class _Series:
    """Every series the processes count (made once per process)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

        disable_created_metrics()  # no *_created series beside each counter: noise here
        folder = multiprocess_dir()
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.playlist_pulls = Counter(
            "broadcaster_playlist_pulls_total",
            "Playlists answered to stations: full (200) or not_modified (304, the station "
            "already had it); via its token or its playlist link.",
            ["result", "via"],
        )
        self.airing_reports = Counter(
            "broadcaster_airing_reports_total",
            "Airing reports from stations: accepted (stored), duplicate (sent again, "
            "already stored), refused (the batch was wrong; nothing stored).",
            ["result"],
        )
        self.emergency_fanout = Histogram(
            "broadcaster_emergency_fanout_seconds",
            "Seconds from an emergency's sending to each station picking it up.",
            buckets=FANOUT_BUCKETS,
        )
        self.render_failures = Counter(
            "broadcaster_render_failures_total",
            "Audio renders that failed: engine (no voice engine answered or gave audio), "
            "input (the text, voice or speed was refused), error (anything else).",
            ["reason"],
        )
        self.sign_in_failures = Counter(
            "broadcaster_sign_in_failures_total",
            "Failed sign-ins: admin (the sign-in page), station_token (a station's "
            "bearer token), station_link (a playlist or audio link); wrong or throttled.",
            ["kind", "outcome"],
        )
        self.stations_connected = Gauge(
            "broadcaster_stations_connected",
            "Stations holding an emergency long-poll on this host's server processes now.",
            multiprocess_mode="livesum",
        )

    def zeros(self) -> None:
        """Every labelled child at 0, so that a first failure is an increase Prometheus
        sees (a series born at 1 has no earlier value to rise from)."""
        for result in PULL_RESULTS:
            for via in PULL_VIA:
                self.playlist_pulls.labels(result=result, via=via)
        for result in REPORT_RESULTS:
            self.airing_reports.labels(result=result)
        for reason in RENDER_REASONS:
            self.render_failures.labels(reason=reason)
        for kind in SIGN_IN_KINDS:
            for outcome in SIGN_IN_OUTCOMES:
                self.sign_in_failures.labels(kind=kind, outcome=outcome)


_made: _Series | None = None
_making = threading.Lock()


def series() -> _Series:
    global _made
    if _made is None:
        with _making:
            if _made is None:
                _made = _Series()
    return _made


def prepare() -> None:
    """Make every series with its labels at 0 (a server process, before its first scrape)."""
    series().zeros()


# -- what the code calls ---------------------------------------------------------------------


def playlist_pulled(not_modified: bool, via: str = "token") -> None:
    result = "not_modified" if not_modified else "full"
    series().playlist_pulls.labels(result=result, via=via).inc()


def airing_reports(accepted: int = 0, duplicate: int = 0, refused: int = 0) -> None:
    counter = series().airing_reports
    for result, n in (("accepted", accepted), ("duplicate", duplicate), ("refused", refused)):
        if n:
            counter.labels(result=result).inc(n)


def emergency_picked_up(delays_s: Iterable[float]) -> None:
    """Stations picked up an emergency this many seconds after it was sent."""
    histogram = series().emergency_fanout
    for delay in delays_s:
        histogram.observe(max(0.0, delay))


def render_failed(exc: BaseException) -> None:
    from broadcaster.errors import InvalidInput
    from broadcaster.tts.base import TtsError

    if isinstance(exc, TtsError):  # no engine answered, or it gave no audio
        reason = "engine"
    elif isinstance(exc, InvalidInput):  # a text, voice or speed refused
        reason = "input"
    else:
        reason = "error"
    series().render_failures.labels(reason=reason).inc()


def counts_render_failures(render: Callable) -> Callable:
    """Decorate the renderer's entry: each call that raises counts one render failure."""

    @functools.wraps(render)
    def counted(*args, **kwargs):
        try:
            return render(*args, **kwargs)
        except Exception as exc:
            render_failed(exc)
            raise

    return counted


def sign_in_failed(kind: str, outcome: str = "wrong") -> None:
    series().sign_in_failures.labels(kind=kind, outcome=outcome).inc()


def stations_waiting(delta: int) -> None:
    """``delta`` more (or fewer) stations hold a long-poll in this process."""
    if delta:
        series().stations_connected.inc(delta)


# -- several processes -----------------------------------------------------------------------

_FILE = re.compile(r"^(?:counter|histogram|summary|gauge_[a-z]+)_(\d+)\.db$")


def process_gone(pid: int, folder: str | None = None) -> None:
    """A server process ended (gunicorn's ``child_exit``): its live gauges leave with it;
    its counters stay counted. Nothing to do in one-process mode."""
    folder = folder or multiprocess_dir()
    if folder and os.path.isdir(folder):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, folder)


def forget_dead_processes(folder: str | None = None) -> list[int]:
    """Remove the files of processes no longer running from the shared folder (gunicorn's
    ``on_starting``): what the multiprocess mode needs emptied between runs, while the
    files of processes still running (another gunicorn on this host, the scheduler) stay.

    Their counters leave the sums, which Prometheus reads as a counter reset (``rate``
    and ``increase`` handle it). Returns the pids forgotten.
    """
    folder = folder or multiprocess_dir()
    if not folder or not os.path.isdir(folder):
        return []
    gone: set[int] = set()
    for path in glob.glob(os.path.join(folder, "*.db")):
        match = _FILE.match(os.path.basename(path))
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not _running(pid):
            gone.add(pid)
            with contextlib.suppress(FileNotFoundError):  # another master was first
                os.remove(path)
    return sorted(gone)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


# -- the answer to a scrape --------------------------------------------------------------------


def registry(*collectors) -> object:
    """A registry with every series of the processes and these collectors (the database's).

    Multiprocess mode: the files of every process on this host (prometheus_client's
    default registry must not be read then: it holds only this process's share).
    One process: its default registry, with the process and Python series.
    """
    from prometheus_client import REGISTRY, CollectorRegistry

    combined = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(combined, folder)
    else:
        combined.register(_Everything(REGISTRY))
    for collector in collectors:
        combined.register(collector)
    return combined


class _Everything:
    """The default registry as one collector of another registry."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def collect(self):
        return self._inner.collect()


def exposition(combined) -> tuple[bytes, str]:
    """The text format of ``combined`` (:func:`registry`) and its content type."""
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

    return generate_latest(combined), CONTENT_TYPE_PLAIN_0_0_4
