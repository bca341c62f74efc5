"""Relay streams served on loopback for the tests: real HTTP servers, real MP3/AAC/TS
bytes made by ffmpeg, and ffmpeg's own HTTP output (``-listen 1``)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from broadcaster.audio._ffmpeg import ffmpeg_exe


def _make(tmp: Path, name: str, *args: str) -> bytes:
    out = tmp / name
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            *args,
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


@cache
def media() -> dict[str, bytes]:
    """MP3, ADTS (AAC) and MPEG-TS bytes of a 3-second tone, made once per process."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        return {
            "mp3": _make(tmp, "a.mp3", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"),
            "aac": _make(tmp, "a.aac", "-c:a", "aac", "-b:a", "64k", "-f", "adts"),
            "ts": _make(tmp, "a.ts", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts"),
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _head(self, status: int, ctype: str, length: int | None = None, **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()

    def _stream(self, data: bytes, ctype: str, *, stall_after: int | None = None) -> None:
        self._head(200, ctype)
        sent = 0
        try:
            # start mid-frame, as an Icecast burst may
            view = data[37:] + data
            while not self.server.stopping.is_set():
                for i in range(0, len(view), 2048):
                    if stall_after is not None and sent >= stall_after:
                        self.server.stopping.wait(30)
                        return
                    self.wfile.write(view[i : i + 2048])
                    sent += 2048
                view = data
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        m = media()
        path = self.path.split("?", 1)[0]
        if path == "/stream.mp3":
            self._stream(m["mp3"], "audio/mpeg")
        elif path == "/stream.aac":
            self._stream(m["aac"], "audio/aacp")
        elif path == "/octet":
            self._stream(m["mp3"], "application/octet-stream")
        elif path == "/stall.mp3":
            self._stream(m["mp3"], "audio/mpeg", stall_after=4096)
        elif path == "/silent.mp3":  # headers, then nothing
            self._head(200, "audio/mpeg")
            self.wfile.flush()
            self.server.stopping.wait(30)
        elif path == "/short.mp3":
            body = m["mp3"][:3000]
            self._head(200, "audio/mpeg", len(body))
            self.wfile.write(body)
        elif path == "/page":
            body = b"<!DOCTYPE html><html><head><title>VOV</title></head><body>Nghe</body></html>"
            self._head(200, "text/html; charset=utf-8", len(body))
            self.wfile.write(body)
        elif path == "/api":
            body = b'{"status": "ok", "listeners": 3}'
            self._head(200, "application/json", len(body))
            self.wfile.write(body)
        elif path == "/live.m3u8":
            body = (
                b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:7\n"
                b"#EXTINF:3.0,\nseg7.ts\n#EXTINF:3.0,\nseg8.ts\n"
            )
            self._head(200, "application/vnd.apple.mpegurl", len(body))
            self.wfile.write(body)
        elif path == "/master.m3u8":
            body = b'#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\nlive.m3u8\n'
            self._head(200, "application/x-mpegURL", len(body))
            self.wfile.write(body)
        elif path == "/empty.m3u8":
            body = b"#EXTM3U\n#EXT-X-TARGETDURATION:3\n"
            self._head(200, "application/vnd.apple.mpegurl", len(body))
            self.wfile.write(body)
        elif path.startswith("/seg"):
            self._head(200, "video/mp2t", len(m["ts"]))
            self.wfile.write(m["ts"])
        elif path == "/redirect":
            query = self.path.split("to=", 1)
            target = unquote(query[1]) if len(query) > 1 else "/stream.mp3"
            self._head(302, "text/plain", 0, Location=target)
        elif path == "/loop":
            self._head(302, "text/plain", 0, Location="/loop")
        else:
            self._head(404, "text/plain", 0)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()


@contextlib.contextmanager
def stream_server() -> Iterator[str]:
    """A loopback HTTP server with the routes above; yields its base URL."""
    media()
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def mute_server() -> Iterator[str]:
    """A server that accepts connections and never answers; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/live"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def ffmpeg_stream(seconds: int = 30) -> Iterator[tuple[str, subprocess.Popen]]:
    """ffmpeg serving one listener an MP3 tone over HTTP (``-listen 1``), in real time."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/live.mp3"
    process = subprocess.Popen(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-f",
            "mp3",
            "-content_type",
            "audio/mpeg",
            "-listen",
            "1",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def until_listening(check, url: str, attempts: int = 100):
    """``check(url)`` once the server listens: a refused connection is tried again (ffmpeg
    serves its one listener only; any probe of ours would be that listener)."""
    result = None
    for _ in range(attempts):
        result = check(url)
        if result.ok or "Không kết nối được" not in result.template:
            return result
        time.sleep(0.1)
    return result


@contextlib.contextmanager
def icy_server() -> Iterator[str]:
    """An old Shoutcast server: it answers ``ICY 200 OK`` instead of an HTTP status line."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _addr = sock.accept()
        with conn:
            conn.recv(4096)
            head = b"ICY 200 OK\r\nicy-name:VOV1\r\ncontent-type:audio/mpeg\r\n\r\n"
            conn.sendall(head + media()["mp3"][:20000])
            done.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        done.set()
        sock.close()
