"""One "host" of the shared-audio tests: a process that renders one text and says how.

Run as ``python -m tests.audio.shared_host TEXT`` with the installation's settings in
the environment (``BROADCASTER_DATABASE_URL``, ``BROADCASTER_AUDIO_DIR``,
``BROADCASTER_AUDIO_LOCK_DIR``, ...). The renderer is the installation's
(:func:`broadcaster.services.audio.renderer_for`); its engine is the real offline
espeak-ng, watched:

- ``SHARED_COUNT_FILE``: one line per piece the engine synthesises (appended, so the
  processes' counts add up in one file);
- ``SHARED_GATE``: a folder; the first piece writes ``started`` there and waits for
  ``go`` before speaking (the test holds a renderer inside the lock that way);
- ``SHARED_START``: a file to wait for before rendering (both hosts start together).

Prints one JSON line: the render's key, whether it came from the store, the file.
The lock's "waiting" lines go to stderr (logging).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

from broadcaster.audio.render import RenderRequest
from broadcaster.config import load_settings
from broadcaster.files import file_digest
from broadcaster.services.audio import renderer_for
from broadcaster.tts.espeak import EspeakEngine

POLL_S = 0.02


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(POLL_S)


class WatchedEspeak(EspeakEngine):
    """The real espeak-ng engine, counting its pieces and, when asked, held at a gate."""

    def __init__(self, count_file: Path | None, gate: Path | None) -> None:
        super().__init__()
        self.count_file, self.gate = count_file, gate

    def synthesise(self, text: str, voice: str, speed: float):
        if self.count_file is not None:
            with self.count_file.open("a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
        if self.gate is not None and not (self.gate / "started").exists():
            (self.gate / "started").write_text(str(os.getpid()))
            _wait_for(self.gate / "go")
        return super().synthesise(text, voice, speed)


def main(text: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    env = os.environ
    count = Path(env["SHARED_COUNT_FILE"]) if env.get("SHARED_COUNT_FILE") else None
    gate = Path(env["SHARED_GATE"]) if env.get("SHARED_GATE") else None
    settings = load_settings(env=dict(env), cwd=Path.cwd())
    renderer = renderer_for(settings, engines={"espeak": WatchedEspeak(count, gate)})
    if env.get("SHARED_START"):
        print("ready", file=sys.stderr, flush=True)
        _wait_for(Path(env["SHARED_START"]))
    result = renderer.render(RenderRequest(text, title="Hai máy"), engine="espeak")
    print(
        json.dumps(
            {
                "sha256": result.record.sha256,
                "cached": result.cached,
                "path": str(result.path),
                "file_sha256": file_digest(result.path),
                "across_hosts": renderer.store.render_lock.across_hosts,
                "lock_dir": str(renderer.store.render_lock.lock_dir),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
