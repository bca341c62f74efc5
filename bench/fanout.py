"""Stations waiting for emergencies: what idle waiting costs, and how fast a send reaches all.

    .venv/bin/python bench/fanout.py                      # 170 stations, SQLite, one process
    .venv/bin/python bench/fanout.py --postgres --stations 3321 --workers 2

The server is the product's station front (``broadcaster.webapp.asgi``, what
``broadcaster serve`` runs) under uvicorn, in its own process, plus one extra
route answering a constant 304: the baseline. The simulated stations run in a
few processes beside it, each station asking, pacing (the agent's own
``broadcaster.agent.listen.Pacing``: retries, Retry-After, floors and jitter)
and downloading the emergency's audio as the agent does: by default as asyncio
stations (``bench/_async_station.py``), or with ``--clients threads`` as the
agent's own ``ApiClient`` and ``listen`` loop in a thread each — which at
3,321 stations spends as much CPU as the server on these same two cores, and
so measures itself. The CPU both sides used during each send is printed.

Printed, nothing asserted:

* idle: the server's CPU seconds per minute and requests per second while N
  stations wait and nothing happens, against the same N clients asking the
  constant 304 route once a minute (the baseline, measured in the same run
  against the same server process); target: idle cost at most the baseline's;
* an emergency without and with ``{ten_xa}``: seconds from the send call
  returning to each station holding the item and its audio (p50 / p99 / max),
  and how long the send call itself took. With ``{ten_xa}`` the send renders
  one common reading that every station fetches at once, and each commune's own
  reading follows (``emergency.personalise``): its time is printed as the cause
  of the difference. Targets: all of 170 within 2 s, all of 3,321 within 5 s.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import multiprocessing.connection
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import _front_trace  # noqa: E402
from bench._async_station import run_stations  # noqa: E402
from bench._station_world import bench_env, busy_note, machine_busy  # noqa: E402
from bench.pull import Server, _cpu_seconds, free_port  # noqa: E402
from bench.units import postgres_databases, postgres_url, sqlite_databases  # noqa: E402
from broadcaster.agent.client import AgentError, ApiClient  # noqa: E402
from broadcaster.agent.listen import listen  # noqa: E402
from broadcaster.config import load_settings  # noqa: E402
from broadcaster.db import make_sessionmaker, migrate, transaction  # noqa: E402
from broadcaster.models import AdminUnit, Station  # noqa: E402
from broadcaster.services import emergency, stations, tokens, units  # noqa: E402
from broadcaster.services.audio import renderer_for  # noqa: E402
from broadcaster.services.audit import system_actor  # noqa: E402

CONSTANT_PATH = "/bench/constant-304"
BASELINE_EVERY_S = 60.0
APP_FACTORY = "bench.fanout:front_app"
TRACE_ENV = "FANOUT_TRACE_DIR"  # where each server process writes what it did (_front_trace)


# -- the server process ---------------------------------------------------------------------


def front_app():
    """uvicorn's factory: the station front as ``serve`` builds it, plus the constant route."""
    from flask import Response, request

    if os.environ.get(TRACE_ENV):
        from bench._front_trace import install

        install(os.environ[TRACE_ENV])

    from broadcaster.webapp import create_app, freeze_startup_objects
    from broadcaster.webapp.asgi import StationFront

    app = create_app(load_settings(), run_migrations=False)
    etag = '"' + "0" * 32 + '"'

    def constant() -> Response:
        if request.headers.get("If-None-Match") == etag:
            response = Response(status=304)
        else:
            response = Response(b"{}", mimetype="application/json")
        response.headers["ETag"] = etag
        return response

    app.add_url_rule(CONSTANT_PATH, "bench_constant", constant)
    front = StationFront(app, workers=8)
    freeze_startup_objects()
    return front


class ServerProcess:
    def __init__(self, env: dict[str, str], workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            APP_FACTORY,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
            "--timeout-keep-alive",
            "75",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        time.sleep(1.0 if workers == 1 else 5.0)  # every worker up
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("the server did not answer in 120 s")

    def cpu(self) -> float:
        """CPU seconds so far of uvicorn and its worker processes."""
        return Server(self.process, self.port, self.log).cpu()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- the world ------------------------------------------------------------------------------


def build(engine, settings, wanted: int) -> dict[str, tuple[str, str]]:
    """Units and stations of as many provinces as ``wanted`` stations need; a token each.

    Returns station code → (token, commune code)."""
    migrate(engine)
    factory = make_sessionmaker(engine)
    actor = system_actor()
    # Hà Tĩnh first (the pilot), then the list in its official order
    provinces = sorted((p.code for p in units.official_provinces()), key=lambda c: c != "42")
    have = 0
    for code in provinces:
        if have >= wanted:
            break
        with transaction(factory) as s:
            units.import_units(s, actor, code)
            have += stations.import_stations(s, actor, code).created
        print(f"  province {code}: {have:,} stations so far", flush=True)
    with transaction(factory) as s:
        rows = s.execute(
            select_stations().limit(wanted)  # the first ``wanted`` stations by code
        ).all()
        return {c: (tokens.issue(s, actor, c).token, unit) for c, unit in rows}


def select_stations():
    from sqlalchemy import select

    return (
        select(Station.code, AdminUnit.code)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .order_by(Station.code)
    )


# -- the simulated stations -----------------------------------------------------------------


class Counting(ApiClient):
    """The agent's client, counting its questions.

    Each client process counts in its own slot of a shared array, without a lock: a
    lock shared by thousands of threads in several processes is a convoy (one holder
    descheduled stalls them all) that would measure itself, not the server."""

    _asked = itertools.count(1)  # this process's questions (thread-safe in CPython)

    def __init__(self, *args, asked, slot: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asked
        self.slot = slot
        self.polled_at = 0.0

    def _request(self, method, path, **kwargs):
        self.asked[self.slot] = next(self._asked)  # only this process writes its slot
        if path.endswith("/emergencies"):
            self.polled_at = time.time()  # when the question that may carry an emergency left
        return super()._request(method, path, **kwargs)


class Station_:
    """One station's emergency thread, as the agent runs it (retries, floors, jitter)."""

    def __init__(
        self, url: str, code: str, token: str, folder: Path, asked, slot: int, heard
    ) -> None:
        self.client = Counting(url, token, code, asked=asked, slot=slot)
        self.code = code
        self.folder = folder
        self.heard = heard  # (emergency id, station, answered at, holding the audio at)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _heard(self, answer: dict, after: int) -> int:
        answered, asked = time.time(), self.client.polled_at
        for item in answer.get("items", []):
            try:
                if item.get("audio"):
                    self.client.download(item["audio"]["sha256"], self.folder)
            except AgentError as exc:  # as the agent: noted, and the loop goes on
                self.heard.put((item["emergency_id"], self.code, answered, None, str(exc)))
                continue
            held = time.time()
            self.heard.put((item["emergency_id"], self.code, (asked, answered), held, None))
        ids = [i["emergency_id"] for i in answer.get("items", [])]
        return max([after, int(answer.get("latest") or 0), *ids])

    def _run(self) -> None:
        listen(self.client, self._heard, self.stop, wait=50, ceiling=60.0)


class _Told:
    """What this process's stations heard, sent to the bench on this process's own pipe
    (a queue shared by every process has one lock for all writers: another convoy)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    def put(self, record: tuple) -> None:
        with self.lock:
            self.connection.send(record)


def _client_process(
    url: str,
    stations: list,
    folder: str,
    asked,
    slot: int,
    pipe,
    stop,
    nice: int,
    switch_interval: float,
    kind: str,
) -> None:
    """Some of the simulated stations, in a process of their own (one GIL each)."""
    os.nice(nice)
    heard = _Told(pipe)
    if kind == "asyncio":
        counter = itertools.count(1)

        def count() -> None:
            asked[slot] = next(counter)  # only this process writes its slot

        run_stations(url, stations, Path(folder), heard.put, count, stop)
        return
    # Hundreds of stations share this process (a real agent is one station per process).
    # When an emergency wakes them all at once, every thread waiting for the GIL wakes
    # each switch interval to ask for it: at 5 ms (the default) and ~400 threads that
    # churn cost ~22 ms of CPU per station and made the stations, not the server, the
    # slow side. The threads give the GIL up at every socket call anyway, so a long
    # interval changes nothing they do, only how often waiting threads knock.
    sys.setswitchinterval(switch_interval)
    threading.stack_size(512 * 1024)
    sims = [
        Station_(url, code, token, Path(folder) / code, asked, slot, heard)
        for code, token in stations
    ]
    for sim in sims:
        sim.thread.start()
    stop.wait()
    for sim in sims:
        sim.stop.set()


class Clients:
    """N simulated stations spread over a few processes; what they heard, by emergency."""

    def __init__(
        self,
        url: str,
        world: dict,
        folder: Path,
        processes: int,
        nice: int,
        switch_interval: float,
        kind: str,
    ) -> None:
        context = multiprocessing.get_context("fork")
        pairs = [(code, token) for code, (token, _) in world.items()]
        share = -(-len(pairs) // processes)
        starts = range(0, len(pairs), share)
        self.asked = context.Array("q", len(starts), lock=False)  # a slot per process
        self.stop = context.Event()
        pipes = [context.Pipe(duplex=False) for _ in starts]
        self._readers = [reader for reader, _ in pipes]
        self.heard: dict[int, dict[str, tuple[float, float]]] = {}
        self.problems: dict[str, int] = {}  # failed downloads, by what the client said
        self.count = len(pairs)
        self.processes = [
            context.Process(
                target=_client_process,
                args=(
                    url,
                    pairs[i : i + share],
                    str(folder),
                    self.asked,
                    slot,
                    pipes[slot][1],
                    self.stop,
                    nice,
                    switch_interval,
                    kind,
                ),
                daemon=True,
            )
            for slot, i in enumerate(starts)
        ]
        for process in self.processes:
            process.start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        readers = list(self._readers)
        while readers:
            for reader in multiprocessing.connection.wait(readers):
                try:
                    record = reader.recv()
                except EOFError:
                    readers.remove(reader)
                    continue
                emergency_id, code, answered, holding, problem = record
                if problem is not None:
                    self.problems[problem[:120]] = self.problems.get(problem[:120], 0) + 1
                    continue
                asked, answered = answered
                self.heard.setdefault(emergency_id, {})[code] = (asked, answered, holding)

    def cpu(self) -> float:
        """CPU seconds so far of the simulated stations' processes."""
        return _cpu_seconds([p.pid for p in self.processes])

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()


class Poller:
    """The baseline: asks a constant 304 route once a minute, from a random offset."""

    def __init__(self, url: str) -> None:
        self.url = url + CONSTANT_PATH
        self.asked = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.stop.wait(random.uniform(0, BASELINE_EVERY_S)):
            return
        etag = '"' + "0" * 32 + '"'
        while not self.stop.is_set():
            self.asked += 1
            request = urllib.request.Request(self.url, headers={"If-None-Match": etag})
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except urllib.error.HTTPError:
                pass  # 304 arrives as an HTTPError
            except OSError:
                pass
            self.stop.wait(BASELINE_EVERY_S)


def idle(server: ServerProcess, asked, seconds: float) -> tuple[float, float]:
    """Server CPU seconds per minute and requests per second over ``seconds``;
    ``asked()`` is how many requests the clients have made so far."""
    asked0, cpu0, t0 = asked(), server.cpu(), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu = server.cpu() - cpu0
    return cpu * 60.0 / elapsed, (asked() - asked0) / elapsed


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} s  p99 {p99:.2f} s  max {ordered[-1]:.2f} s"


def send_and_time(
    factory,
    renderer,
    server_process: ServerProcess,
    clients: Clients,
    units_,
    body: str,
    timeout: float,
    traced: Path,
) -> dict:
    started = time.time()
    with transaction(factory) as s:
        sent = emergency.send(
            s, system_actor(), renderer, title="Bão khẩn cấp", body=body, unit_codes=units_
        )
    returned = time.time()  # committed: stations may hear of it from now on
    cpu0 = (server_process.cpu(), clients.cpu())
    deadline = returned + timeout
    while time.time() < deadline and len(clients.heard.get(sent.id, {})) < clients.count:
        time.sleep(0.05)
    cpu1 = (server_process.cpu(), clients.cpu())
    spent = time.time() - returned
    got = dict(clients.heard.get(sent.id, {}))
    time.sleep(1.0)  # every server process has written down what it did
    workers = _front_trace.read(traced)
    heard = [w["heard"].get(str(sent.id)) for w in workers]
    server = {
        "heard": max((h - returned for h in heard if h), default=None),
        "answered": sum(w["answered"] for w in workers),
        "last_answer": max(w["last_answer"] for w in workers) - returned if workers else None,
        "audio": sum(w["audio"] for w in workers),
        "last_audio": max(w["last_audio"] for w in workers) - returned if workers else None,
        "stall": max((w["stall"] for w in workers), default=None),
        # CPU seconds used until the last station held it (or the time ran out): the
        # server's processes, and the simulated stations' (which share the same cores)
        "cpu": cpu1[0] - cpu0[0],
        "client_cpu": cpu1[1] - cpu0[1],
        "spent": spent,
    }
    personal_s = None
    if sent.personal:  # each commune's own reading, after the common one went out
        begun = time.time()
        emergency.personalise(factory, renderer, sent.id)
        personal_s = time.time() - begun
    return {
        "send_s": returned - started,
        "answered": [a - returned for _, a, _ in got.values()],
        "delays": [h - returned for _, _, h in got.values()],
        # answered on a question asked before the send (a waiter woken) or after it (asked
        # again after a wait ended, answered by the app)
        "woken": [a - returned for q, a, _ in got.values() if q < started],
        "reasked": [a - returned for q, a, _ in got.values() if q >= started],
        "missing": clients.count - len(got),
        "personal_s": personal_s,
        "server": server,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=170)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (see bench/units)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument(
        "--no-named", action="store_true", help="skip the {ten_xa} send (one render per station)"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help="processes the simulated stations run in (default: one per 400 stations, up to "
        "one per core for asyncio stations and 8 for threads)",
    )
    parser.add_argument(
        "--client-nice",
        type=int,
        default=0,
        help="niceness of the simulated stations' processes (default 0; at 10 they took "
        "their answers far later at 3,321 stations, so the server gained nothing measurable)",
    )
    parser.add_argument(
        "--clients",
        choices=("asyncio", "threads"),
        default="asyncio",
        help="the simulated stations: asyncio stations that ask and pace as the agent does "
        "(bench/_async_station.py, default), or the agent's own requests client in a thread "
        "each (heavier: at 3,321 stations it takes as much CPU as the server)",
    )
    parser.add_argument(
        "--client-switch-interval",
        type=float,
        default=1.0,
        help="sys.setswitchinterval in the simulated stations' processes (default 1 s; "
        "Python's 0.005 makes ~400 threads per process fight over the GIL: see "
        "_client_process)",
    )
    args = parser.parse_args(argv)
    threading.stack_size(512 * 1024)  # thousands of waiting threads in this process
    busy = machine_busy()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
        if args.postgres:
            server_url, _ = postgres_url()
            if not server_url:
                raise SystemExit("--postgres needs BROADCASTER_TEST_POSTGRES_URL (or BENCH_…)")
            fresh, version = stack.enter_context(postgres_databases(server_url))
            backend = version
        else:
            fresh, backend = sqlite_databases(workdir), "SQLite"
        engine = stack.enter_context(fresh("fanout"))
        url = engine.url.render_as_string(hide_password=False)
        traced = workdir / "trace"
        traced.mkdir()
        env = {**bench_env(url, workdir), TRACE_ENV: str(traced)}
        settings = load_settings(env=env, cwd=workdir)
        print(f"bench/fanout.py: {args.stations:,} stations, {backend}, "
              f"{args.workers} server process(es); {busy_note(busy)}")  # fmt: skip
        world = build(engine, settings, args.stations)
        factory = make_sessionmaker(engine)
        renderer = renderer_for(settings)
        server = ServerProcess(env, args.workers, workdir)
        stack.callback(server.stop)

        # the agents' folders on tmpfs where there is one: the agent fsyncs every file, and
        # on this machine's disk thousands of fsyncs at once measure the disk, not the server
        shm = Path("/dev/shm")
        folder = Path(tempfile.mkdtemp(prefix="fanout-agents-", dir=shm if shm.is_dir() else None))
        stack.callback(shutil.rmtree, folder, True)
        if args.client_processes:
            processes = args.client_processes
        elif args.clients == "asyncio":  # one event loop per core, at most
            processes = max(1, min(os.cpu_count() or 1, args.stations // 400))
        else:
            processes = max(1, min(8, args.stations // 400))
        clients = Clients(
            server.url,
            world,
            folder,
            processes,
            args.client_nice,
            args.client_switch_interval,
            args.clients,
        )
        stack.callback(clients.close)
        how = (
            "asyncio"
            if args.clients == "asyncio"
            else (f"threads, switch interval {args.client_switch_interval:g} s")
        )
        print(f"simulated stations: {processes} process(es), {how}, nice {args.client_nice}")
        time.sleep(5.0 + args.stations / 500)  # every station has asked once and waits
        waiting_cpu, waiting_rps = idle(server, lambda: sum(clients.asked), args.idle_seconds)

        communes = sorted({unit for _, unit in world.values()})
        plain = send_and_time(
            factory,
            renderer,
            server,
            clients,
            communes,
            "Bão số 9 sắp đổ bộ, bà con vào nơi an toàn.",
            60,
            traced,
        )
        named = None
        if not args.no_named:
            named = send_and_time(
                factory,
                renderer,
                server,
                clients,
                communes,
                "Bà con {ten_xa} chú ý: nước sông lên nhanh, di dời ngay.",
                max(120.0, args.stations * 0.5),
                traced,
            )
        clients.close()

        pollers = [Poller(server.url) for _ in world]
        for p in pollers:
            p.thread.start()
        time.sleep(2.0)
        base_cpu, base_rps = idle(server, lambda: sum(p.asked for p in pollers), args.idle_seconds)
        for p in pollers:
            p.stop.set()

    print(f"\nidle, {args.stations:,} stations, {args.idle_seconds:.0f} s each:")
    print(f"  waiting (long-poll)     : {waiting_cpu:6.2f} CPU s/min  {waiting_rps:7.2f} req/s")
    print(f"  baseline (304 each min) : {base_cpu:6.2f} CPU s/min  {base_rps:7.2f} req/s")
    ratio = waiting_cpu / base_cpu if base_cpu > 0 else float("inf")
    verdict = "PASS" if waiting_cpu <= base_cpu else "FAIL"
    print(f"  ratio waiting/baseline  : {ratio:6.2f} × CPU   {verdict} (target ≤ 1)")
    target = 2.0 if args.stations <= 170 else 5.0
    for label, run in (("without {ten_xa}", plain), ("with {ten_xa}", named)):
        if run is None:
            continue
        print(f"\nemergency {label}: send call {run['send_s']:.2f} s")
        print(f"  send returned → station has the item:           {quantiles(run['answered'])}")
        print(f"  send returned → station holds item and audio:   {quantiles(run['delays'])}")
        print(
            f"  of which woken while waiting ({len(run['woken']):,}):"
            f"        {quantiles(run['woken'])}"
        )
        print(f"  of which asked after the send ({len(run['reasked']):,}):"
              f"       {quantiles(run['reasked'])}")  # fmt: skip
        if run["missing"]:
            print(f"  {run['missing']} station(s) did not get it in time")
        server = run["server"]
        if server["answered"]:
            print(
                f"  inside the server: notice heard +{server['heard']:.2f} s; "
                f"{server['answered']:,} woken stations answered "
                f"by +{server['last_answer']:.2f} s; "
                f"{server['audio']:,} audio copies served from memory by "
                f"+{server['last_audio']:.2f} s; longest event-loop stall {server['stall']:.2f} s"
            )
        print(
            f"  CPU over those {server['spent']:.1f} s ({os.cpu_count()} cores): server "
            f"{server['cpu']:.1f} s, simulated stations {server['client_cpu']:.1f} s "
            f"({server['client_cpu'] / clients.count * 1000:.1f} ms each)"
        )
    for problem, count in sorted(clients.problems.items(), key=lambda p: -p[1])[:5]:
        print(f"  {count} download(s) failed: {problem}")
    worst = max(plain["delays"], default=float("inf"))
    ok = not plain["missing"] and worst <= target
    print(f"\nwithout {{ten_xa}}: every station within {target:g} s: {'PASS' if ok else 'FAIL'}")
    if named is not None:
        print(
            "with {ten_xa}: the send renders one common reading (placeholders read neutrally) "
            "and every station fetches that at once; each commune's own reading is rendered "
            f"after, {named['personal_s']:.1f} s for {args.stations:,} stations "
            f"({named['personal_s'] / args.stations * 1000:.0f} ms each: one synthesis and "
            "mastering per station), and replaces the common one on slots not aired yet"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
