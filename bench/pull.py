"""Benchmark: station playlist pulls under gunicorn, against a constant answer of the same size.

What it measures, per backend (SQLite, and PostgreSQL when a server is given):

* a station day (bench/_station_world.py): the stations of Hà Tĩnh, 40 of them
  (``--stations``) with a pull token and nine slots today with real audio, in
  a fresh database;
* gunicorn serving the real app (``create_app``) with gthread workers (2 x 4
  threads by default) on a free loopback port, plus one extra route in the
  same app answering a constant body of the size of a real playlist, with the
  playlist's headers: same server, same middleware, so the difference is the
  playlist's own work (token check, queries, JSON, ETag);
* ``--clients`` keep-alive clients pulling for ``--duration`` seconds (after a
  warm-up) in each case, the clients spread over the stations, the three
  cases in turn, ``--repeat`` times (median shown):

  (a) GET /api/v1/stations/{code}/playlist, no If-None-Match: 200 and the JSON;
  (b) the same with the ETag in If-None-Match: 304, no body;
  (c) GET /bench/constant: 200 and the constant body.

  Printed: requests/s, p50 and p99 latency, and the server's CPU time per
  request (its workers' user+system time over the case, from /proc) -- and the
  ratios a/c (target >= 0.5) and b/c, each computed within one run.

The load comes from wrk when it is installed (``apt-get install wrk``) and
otherwise from a Python asyncio generator on raw sockets in its own process
(``--generator`` forces either): a commune office installs with pip only. The
server and the generator share the machine's cores; on a 2-core box the
generator takes a good part of one, so absolute requests/s understate what the
server alone could do. The ratios compare cases under the same handicap; the
CPU time per request does not depend on the generator at all.

Run it from the repository root::

    .venv/bin/python bench/pull.py                      # SQLite (+ PostgreSQL if set)
    .venv/bin/python bench/pull.py --backend sqlite --duration 5 --clients 64 --repeat 3
    .venv/bin/python bench/pull.py --generator python   # the pip-only load generator
    BROADCASTER_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/pull.py --backend postgresql
    .venv/bin/python bench/pull.py --postgres postgresql://postgres@127.0.0.1:5432/test

For PostgreSQL the URL (``--postgres``, else ``BROADCASTER_BENCH_POSTGRES_URL``,
else ``BROADCASTER_TEST_POSTGRES_URL``) only names the server: the benchmark
creates its own database there and drops it afterwards. The exit status is 0
whatever the figures: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import http.client
import importlib.util
import multiprocessing
import os
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._station_world import (  # noqa: E402
    CONSTANT_BODY_VAR,
    CONSTANT_PATH,
    TZ,
    World,
    add_constant_route,
    bench_env,
    bench_settings,
    build_world,
    busy_note,
    constant_body,
    machine_busy,
)
from bench.units import postgres_databases, postgres_url, sqlite_databases  # noqa: E402
from broadcaster.clock import local_today  # noqa: E402

TARGET = 0.5
CASES = ("playlist", "not_modified", "constant")
LABELS = {
    "playlist": "(a) playlist 200 (JSON)",
    "not_modified": "(b) playlist 304 (If-None-Match)",
    "constant": "(c) constant bytes, same size",
}
EXPECTED_STATUS = {"playlist": 200, "not_modified": 304, "constant": 200}


# --- what the clients send ------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One station's pull, as a client sends it, and what the server answers."""

    path: str
    token: str
    etag: str
    size: int


def probe(settings, world: World, port: int) -> list[Target]:
    """Each station's playlist through the real app in-process, with the Host the
    clients will send, so the ETag and the size are exactly the server's."""
    from broadcaster.webapp import create_app

    app = create_app(settings, run_migrations=False)
    client = app.test_client()
    targets = []
    try:
        for code in world.codes:
            path = f"/api/v1/stations/{code}/playlist"
            token = world.tokens[code]
            response = client.get(
                path, headers={"Authorization": f"Bearer {token}"}, base_url=_base(port)
            )
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.data[:200]!r}")
            targets.append(Target(path, token, response.headers["ETag"], len(response.data)))
    finally:
        app.extensions["broadcaster.engine"].dispose()
    return targets


def _base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def requests_for(case: str, targets: list[Target], port: int) -> list[bytes]:
    """The raw HTTP/1.1 requests of a case, one per station (every case carries a token)."""
    out = []
    for t in targets:
        path = CONSTANT_PATH if case == "constant" else t.path
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            f"Authorization: Bearer {t.token}",
        ]
        if case == "not_modified":
            lines.append(f"If-None-Match: {t.etag}")
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    return out


# --- the server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 where /proc is missing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        """The master's children (its gunicorn workers), read from /proc."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return pids

    def cpu(self) -> float:
        return _cpu_seconds([self.process.pid, *self.workers()])


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, threads: int, workdir: Path):
    """gunicorn serving ``bench._station_world:pull_app()``; stopped (SIGTERM) on exit."""
    log = workdir / f"gunicorn-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(REPO),
        "--log-level",
        "warning",
        "bench._station_world:pull_app()",
    ]
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(server.workers()) > 0:
                conn.close()
                time.sleep(0.5)  # let every worker finish building its app
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in {timeout:g} s:\n{server.log.read_text()}")


def check_answers(port: int, targets: list[Target], constant_size: int) -> None:
    """One request per station and case through the server: status and size as expected."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for case in CASES:
        for t in targets:
            headers = {"Authorization": f"Bearer {t.token}"}
            if case == "not_modified":
                headers["If-None-Match"] = t.etag
            conn.request("GET", CONSTANT_PATH if case == "constant" else t.path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            want = {"playlist": t.size, "not_modified": 0, "constant": constant_size}[case]
            if response.status != EXPECTED_STATUS[case] or len(body) != want:
                raise RuntimeError(
                    f"{case} {t.path}: {response.status}, {len(body)} bytes "
                    f"(expected {EXPECTED_STATUS[case]}, {want})"
                )
            if case != "constant" and response.headers["ETag"] != t.etag:
                raise RuntimeError(f"{t.path}: the ETag changed between pulls")
    conn.close()


# --- load generators ----------------------------------------------------------------


@dataclass
class Load:
    """What one case gave: completed requests in the measured window, and their latencies."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    errors: int
    generator_cpu: float  # share of one core the load generator used while it ran
    server_cpu: float = 0.0  # seconds of CPU the gunicorn processes used over the case

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / self.requests if self.requests else float("nan")


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


async def _client(
    request: bytes, port: int, begin: float, start: float, end: float, out: dict
) -> None:
    """Send from ``begin`` (wall clock); record the answers that arrive in [start, end]."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(max(0.0, begin - time.time()))
    latencies, statuses = out["latencies"], out["statuses"]
    clock = time.perf_counter
    wall_offset = time.time() - clock()
    measured_from, measured_to = start - wall_offset, end - wall_offset
    while True:
        sent = clock()
        if sent >= measured_to:
            break
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            if length:
                await reader.readexactly(int(length.group(1)))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            out["errors"] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        done = clock()
        if measured_from <= done <= measured_to:
            latencies.append(done - sent)
            statuses[int(head[9:12])] += 1
        if _CLOSE.search(head):
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


def drive_python(
    requests: list[bytes],
    port: int,
    clients: int,
    first: int,
    begin: float,
    start: float,
    end: float,
) -> dict:
    """One generator process: ``clients`` connections, client k sending request first+k."""
    cpu = time.process_time()
    out: dict = {"latencies": [], "statuses": Counter(), "errors": 0}

    async def main() -> None:
        await asyncio.gather(
            *(
                _client(requests[(first + k) % len(requests)], port, begin, start, end, out)
                for k in range(clients)
            )
        )

    asyncio.run(main())
    out["cpu"] = (time.process_time() - cpu) / (end - begin)
    return out


class PythonGenerator:
    """Keep-alive clients on raw sockets, asyncio, in ``processes`` processes of their own."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.name = f"Python asyncio generator ({processes} process{'es' * (processes > 1)})"
        context = multiprocessing.get_context("spawn")
        self.pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=context)
        # start (and import) every process now, not inside the first case's time window
        for job in [self.pool.submit(os.getpid) for _ in range(processes)]:
            job.result()

    def run(self, requests: list[bytes], port: int, clients: int, duration: float, warmup: float):
        begin = time.time() + 1.0  # connect, then warm up, then measure
        start = begin + warmup
        end = start + duration
        shares = [
            clients // self.processes + (i < clients % self.processes)
            for i in range(self.processes)
        ]
        firsts = [sum(shares[:i]) for i in range(self.processes)]
        jobs = [
            self.pool.submit(drive_python, requests, port, n, first, begin, start, end)
            for n, first in zip(shares, firsts, strict=True)
            if n
        ]
        parts = [job.result() for job in jobs]
        latencies = sorted(x for p in parts for x in p["latencies"])
        statuses: Counter = Counter()
        for p in parts:
            statuses.update(p["statuses"])
        return Load(
            requests=len(latencies),
            seconds=duration,
            p50_ms=1000 * _quantile(latencies, 0.50),
            p99_ms=1000 * _quantile(latencies, 0.99),
            statuses=dict(statuses),
            errors=sum(p["errors"] for p in parts),
            generator_cpu=sum(p["cpu"] for p in parts),
        )

    def close(self) -> None:
        self.pool.shutdown()


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class WrkGenerator:
    """wrk, with a Lua script cycling each thread's requests through the stations.

    wrk runs whole seconds: ``--duration`` and ``--warmup`` are rounded (at least 1 s).
    """

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.threads = min(2, os.cpu_count() or 1)
        version = subprocess.run([executable, "-v"], capture_output=True, text=True)
        found = re.search(r"wrk (\S+)", version.stdout + version.stderr)
        self.name = f"wrk {found.group(1) if found else ''} ({self.threads} threads)".replace(
            "  ", " "
        )

    def _script(self, requests: list[bytes]) -> Path:
        quoted = ",\n".join(_lua_string(r) for r in requests)
        path = self.workdir / "pull.lua"
        path.write_text(
            f"local requests = {{\n{quoted}\n}}\n"
            "local counter = 0\n"
            "setup = function(thread)\n"
            "  thread:set('first', counter)\n"
            "  counter = counter + 1\n"
            "end\n"
            "local next_request = nil\n"
            "init = function(args)\n"
            "  next_request = (first or 0)\n"
            "end\n"
            "request = function()\n"
            "  next_request = next_request + 1\n"
            "  return requests[(next_request % #requests) + 1]\n"
            "end\n"
        )
        return path

    def _wrk(self, script: Path, port: int, clients: int, seconds: float) -> tuple[str, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                self.executable,
                f"-t{self.threads}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                str(script),
                _base(port) + "/",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return done.stdout, cpu / seconds

    def run(self, requests: list[bytes], port: int, clients: int, duration: float, warmup: float):
        script = self._script(requests)
        if warmup > 0:
            self._wrk(script, port, clients, warmup)
        output, cpu = self._wrk(script, port, clients, duration)
        return _parse_wrk(output, cpu)

    def close(self) -> None:
        pass


def _lua_string(raw: bytes) -> str:
    return (
        '"'
        + raw.decode("ascii")
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\r", "\\r")
        .replace("\n", "\\n")
        + '"'
    )


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(text: str, label: str) -> float:
    found = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return float(found.group(1)) * _WRK_UNITS[found.group(2)] if found else float("nan")


def _parse_wrk(text: str, cpu: float) -> Load:
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if total is None:
        raise RuntimeError(f"could not read wrk's output:\n{text}")
    seconds = float(total.group(2)) * _WRK_UNITS[total.group(3)] / 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Load(
        requests=int(total.group(1)),
        seconds=seconds,
        p50_ms=_wrk_ms(text, "50%"),
        p99_ms=_wrk_ms(text, "99%"),
        statuses={0: int(bad.group(1))} if bad else {},  # 0: "not 2xx or 3xx" (wrk's count)
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
        generator_cpu=cpu,
    )


def make_generator(choice: str, processes: int, workdir: Path):
    wrk = shutil.which("wrk")
    if choice == "wrk" and wrk is None:
        raise SystemExit("--generator wrk: wrk is not installed (apt-get install wrk)")
    if choice in ("auto", "wrk") and wrk is not None:
        return WrkGenerator(wrk, workdir)
    return PythonGenerator(processes)


# --- one backend ----------------------------------------------------------------------


@dataclass
class Run:
    loads: dict[str, Load]

    def ratio(self, case: str) -> float:
        return self.loads[case].rate / self.loads["constant"].rate


def measure(engine, workdir: Path, audio_dir: Path, args, generator) -> tuple[dict, list[Run]]:
    url = engine.url.render_as_string(hide_password=False)
    settings = bench_settings(url, workdir, audio_dir)
    today = local_today(TZ)
    world = build_world(engine, settings, stations_wanted=args.stations, days=[today], audio=True)
    port = free_port()
    targets = probe(settings, world, port)
    sizes = [t.size for t in targets]
    size = round(statistics.median(sizes))
    body_file = workdir / "constant-body.json"
    body_file.write_bytes(constant_body(size))
    env = {**bench_env(url, workdir, audio_dir), CONSTANT_BODY_VAR: str(body_file)}
    runs = []
    with gunicorn(env, port, args.workers, args.threads, workdir) as server:
        check_answers(port, targets, size)
        _check_constant_route(body_file)
        requests = {case: requests_for(case, targets, port) for case in CASES}
        busy = machine_busy()
        for r in range(args.repeat):
            order = CASES[r % 3 :] + CASES[: r % 3]  # each case leads once in three runs
            loads = {}
            for case in order:
                cpu = server.cpu()
                load = generator.run(requests[case], port, args.clients, args.duration, args.warmup)
                load.server_cpu = server.cpu() - cpu
                loads[case] = load
            runs.append(Run(loads))
    info = {
        "stations": len(world.codes),
        "slots": world.slot_count // len(world.codes),
        "size": size,
        "sizes": (min(sizes), max(sizes)),
        "busy": busy,
    }
    return info, runs


def _check_constant_route(body_file: Path) -> None:
    """The constant route is registered the way pull_app does it (sanity, in-process)."""
    from flask import Flask

    app = Flask("check")
    add_constant_route(app, body_file.read_bytes())
    assert app.test_client().get(CONSTANT_PATH).data == body_file.read_bytes()


# --- the report -----------------------------------------------------------------------


def report(title: str, info: dict, runs: list[Run], args) -> None:
    def median(values) -> float:
        return statistics.median(values)

    print(f"\n{title} — median of {len(runs)} run(s)")
    low, high = info["sizes"]
    print(
        f"  {info['stations']} stations × {info['slots']} slots today; playlist bodies "
        f"{low:,}–{high:,} B, constant body {info['size']:,} B"
    )
    print(f"  {busy_note(info['busy'])}")
    print(
        f"  {'case':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'gunicorn CPU ms/req':>21}{'generator CPU':>15}"
    )
    for case in CASES:
        loads = [r.loads[case] for r in runs]
        print(
            f"  {LABELS[case]:<34}{median(x.rate for x in loads):>9,.0f}"
            f"{median(x.p50_ms for x in loads):>9.2f}{median(x.p99_ms for x in loads):>9.2f}"
            f"{median(x.server_ms_per_request for x in loads):>21.3f}"
            f"{median(x.generator_cpu for x in loads):>14.0%}"
        )
    a = [r.ratio("playlist") for r in runs]
    b = [r.ratio("not_modified") for r in runs]
    verdict = "met" if median(a) >= TARGET else "NOT met"
    print(
        f"  a/c (req/s) {median(a):5.2f}   target >= {TARGET}: {verdict}   "
        f"(per run: {', '.join(f'{x:.2f}' for x in a)})"
    )
    print(f"  b/c (req/s) {median(b):5.2f}   (per run: {', '.join(f'{x:.2f}' for x in b)})")
    b_over_a = median(r.loads["not_modified"].rate / r.loads["playlist"].rate for r in runs)
    print(f"  b/a (req/s) {b_over_a:5.2f}   (how much cheaper a 304 is than a 200)")
    cpu_c = median(r.loads["constant"].server_ms_per_request for r in runs)
    cpu_a = median(r.loads["playlist"].server_ms_per_request for r in runs)
    cpu_b = median(r.loads["not_modified"].server_ms_per_request for r in runs)
    if cpu_a > 0 and cpu_b > 0:
        print(
            f"  by gunicorn CPU per request (independent of the generator): "
            f"c/a {cpu_c / cpu_a:.2f}, c/b {cpu_c / cpu_b:.2f}"
        )
    problems = Counter()
    for r in runs:
        for case, load in r.loads.items():
            for status, n in load.statuses.items():
                if status != EXPECTED_STATUS[case]:
                    problems[f"{case}: {status or 'non-2xx/3xx'}"] += n
            if load.errors:
                problems[f"{case}: socket errors"] += load.errors
    if problems:
        print("  unexpected answers: " + ", ".join(f"{k} × {v}" for k, v in problems.items()))


# --- entry point ----------------------------------------------------------------------


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _positive_float(value: str) -> float:
    x = float(value)
    if x <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server (default: env)")
    parser.add_argument("--duration", type=_positive_float, default=5.0, help="s per case")
    parser.add_argument("--warmup", type=float, default=1.0, help="s before each case")
    parser.add_argument("--clients", type=_positive_int, default=64, help="keep-alive clients")
    parser.add_argument("--repeat", type=_positive_int, default=3, help="runs (median shown)")
    parser.add_argument("--stations", type=_positive_int, default=40)
    parser.add_argument("--workers", type=_positive_int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=_positive_int, default=4, help="threads per worker")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--processes", type=_positive_int, default=1, help="Python generator processes"
    )
    args = parser.parse_args(argv)
    if sys.platform == "win32" or importlib.util.find_spec("gunicorn") is None:
        raise SystemExit("gunicorn is needed (pip install -e '.[dev]'; it does not run on Windows)")

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        workdir = Path(tmp)
        audio_dir = workdir / "audio"  # shared: the second backend finds the audio rendered
        generator = make_generator(args.generator, args.processes, workdir)
        try:
            print(
                f"Playlist pulls: gunicorn gthread, {args.workers} workers × {args.threads} "
                f"threads on 127.0.0.1; {args.clients} keep-alive clients, {args.duration:g} s "
                f"per case after {args.warmup:g} s of warm-up.\n"
                f"Load: {generator.name}, on the same {os.cpu_count()} CPU cores as the "
                "server. It competes with the server,\nso req/s understate the server alone; "
                "the ratios compare cases under the same handicap, and the server's\n"
                "CPU ms per request does not depend on the generator. 'generator CPU' is "
                "its share of one core."
            )
            if args.backend in ("sqlite", "all"):
                with sqlite_databases(workdir)("pull") as engine:
                    info, runs = measure(engine, workdir, audio_dir, args, generator)
                report(f"SQLite {sqlite3.sqlite_version}", info, runs, args)
            if args.backend in ("postgresql", "all"):
                server_url, var = (args.postgres, "--postgres") if args.postgres else postgres_url()
                if not server_url:
                    print(
                        "\nPostgreSQL: skipped (give --postgres URL or set "
                        "BROADCASTER_BENCH_POSTGRES_URL or BROADCASTER_TEST_POSTGRES_URL)."
                    )
                else:
                    with (
                        postgres_databases(server_url) as (fresh, version),
                        fresh("pull") as engine,
                    ):
                        info, runs = measure(engine, workdir, audio_dir, args, generator)
                    report(f"{version} (throwaway database, server from {var})", info, runs, args)
        finally:
            generator.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
