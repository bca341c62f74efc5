"""The agent's emergency long-poll loop, on its own so simulations run the same code.

It asks ``/emergencies`` with the newest id it knows and waits up to ``wait``
seconds for an answer. It never spins: a refused or failed question is asked
again only after the server's Retry-After or a doubling back-off (at least
:data:`RETRY_FLOOR_S`), and an empty answer that came back early (a server that
does not hold the wait) is followed by a pause up to :data:`POLL_FLOOR_S`; every
pause carries jitter so refused stations do not come back together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from broadcaster.agent.client import ApiClient, AuthRefused, Refused, Unavailable, jittered

log = logging.getLogger(__name__)

RETRY_FLOOR_S = 1.0  # no retry comes sooner than this, whatever the settings
POLL_FLOOR_S = 5.0  # never ask again sooner than this after an empty answer
RETRIED = (Unavailable, Refused, AuthRefused)  # the loop pauses and asks again after these


def backoff(failures: int, ceiling: float, retry_after: float | None = None) -> float:
    """The pause after the ``failures``-th failure in a row: 5 s doubling up to ``ceiling``."""
    wait = max(RETRY_FLOOR_S, min(ceiling, 5.0 * 2 ** min(failures - 1, 6)))
    return jittered(max(wait, retry_after or 0.0))


class Pacing:
    """When the long-poll asks again, without doing any I/O: the agent's loop below and
    the asyncio stations of ``bench/fanout.py`` both follow it, so they pace alike."""

    def __init__(self, ceiling: float = 60.0) -> None:
        self.ceiling = ceiling
        self.failures = 0

    def failed(self, exc: Exception) -> float:
        """The pause after a refused or failed question (``exc`` may carry Retry-After)."""
        self.failures += 1
        return backoff(self.failures, self.ceiling, getattr(exc, "retry_after", None))

    def answered(self, answer: dict, asked: float, now: float) -> float:
        """The pause after an answer to a question asked at ``asked`` (monotonic seconds):
        none, unless it came back empty sooner than :data:`POLL_FLOOR_S`."""
        self.failures = 0
        early = POLL_FLOOR_S - (now - asked)
        return jittered(early) if not answer.get("items") and early > 0 else 0.0


def listen(
    client: ApiClient,
    heard: Callable[[dict, int], int | None],
    stopping: threading.Event,
    *,
    wait: int = 50,
    ceiling: float = 60.0,
) -> None:
    """Long-poll until ``stopping`` is set; ``heard(answer, after)`` returns the next
    ``after`` (None: stop now)."""
    after, pacing = 0, Pacing(ceiling)
    while not stopping.is_set():
        asked = time.monotonic()
        try:
            answer = client.emergencies(after, wait)
        except RETRIED as exc:
            pause = pacing.failed(exc)
            log.debug("Chờ tin khẩn cấp lỗi (%s); thử lại sau %.0f giây.", exc, pause)
            stopping.wait(pause)
            continue
        following = heard(answer, after)
        if following is None:
            return
        after = following
        pause = pacing.answered(answer, asked, time.monotonic())
        if pause:
            stopping.wait(pause)
