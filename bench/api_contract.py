"""The station API against its own OpenAPI document, by schemathesis, on a live server.

Builds a station world (bench/_station_world.py: Hà Tĩnh, approved scripts,
today's slots with real audio), starts ``broadcaster serve`` on loopback as a
commune office runs it, and points schemathesis at ``/api/v1/openapi.json``
with every check and every phase — examples, coverage, fuzzing and stateful.
What a request must name to reach past "not found" is pinned to real values:
the station's code and token, an audio file of its playlist, its playlist
link, and a signed audio URL from that link; ``wait`` is pinned to 0 so that
no generated request waits 55 s for an emergency.

It prints the operations, the test cases generated and the failures, and exits
with schemathesis's status: 0 only when nothing failed.

    .venv/bin/python bench/api_contract.py                # SQLite, default budget
    .venv/bin/python bench/api_contract.py --max-examples 200
    .venv/bin/python bench/api_contract.py --database-url postgresql+psycopg://…/db
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._station_world import REPO, TZ, bench_env, bench_settings, build_world
from broadcaster.clock import local_today
from broadcaster.db import make_engine, make_sessionmaker, transaction
from broadcaster.services import tokens
from broadcaster.services.audit import system_actor

PHASES = "examples,coverage,fuzzing,stateful"
# Rules JSON Schema cannot state (a day relative to today, a time's range, a slot that
# must exist and be this station's): the document says them in words, and schemathesis's
# "schema-valid data is accepted" check is told the documented refusal is the answer.
REFUSED_THOUGH_VALID = {
    "getPlaylist": (400, "date: at most 400 days from today, 2000-01-01…2099-12-31"),
    "getLinkedPlaylist": (400, "date: from yesterday to 7 days ahead"),
    "reportAirings": (422, "slot_id must be one of this station's slots; times in range"),
    "heartbeat": (422, "times from 2000-01-01 to 2100-01-01 (UTC)"),
}
# A "schema-violating" case whose violation lies in a pinned value is sent with the pin,
# so it is a valid request and 200 is right; every other check still runs on it, and the
# refusals of altered values are tested in tests/api (signatures, expiry, wait's range).
PINNED_NEGATIVES = {
    "getLinkedAudio": "link, sha256, exp and sig are the one real signed URL",
    "waitEmergencies": "wait is pinned to 0 (a generated wait would hold the run 55 s)",
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "broadcaster"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-scheduler",
        ],
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: see {log}\n{log.read_text()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not answer within 60 s: see {log}")


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(path: Path, pinned: dict[str, str], token: str, examples: int) -> None:
    """schemathesis.toml: the station's token, the real values, every check."""
    lines = [
        f"headers = {{ Authorization = {_toml('Bearer ' + token)} }}",
        "request-timeout = 30",
        f"generation.max-examples = {examples}",
        "",
        "[checks]",
        "enabled = true",
        "",
        "[parameters]",
        *(f"{_toml(name)} = {_toml(value)}" for name, value in pinned.items()),
    ]
    for operation in sorted(REFUSED_THOUGH_VALID.keys() | PINNED_NEGATIVES.keys()):
        lines += ["", "[[operations]]", f"include-operation-id = {_toml(operation)}"]
        if operation in REFUSED_THOUGH_VALID:
            status, why = REFUSED_THOUGH_VALID[operation]
            lines += [
                f"# {why}",
                "checks.positive_data_acceptance.expected-statuses = "
                f'["2xx", "3xx", 401, 403, 404, 409, 429, {status}]',
            ]
        if operation in PINNED_NEGATIVES:
            lines += [
                f"# {PINNED_NEGATIVES[operation]}",
                "checks.negative_data_rejection.expected-statuses = "
                "[200, 400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429]",
            ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _signed_audio(base: str, secret: str) -> dict[str, str]:
    """A signed audio URL from the station's playlist link, as a player gets it."""
    text = requests.get(f"{base}/api/v1/links/{secret}/playlist.m3u8", timeout=30).text
    url = next(line for line in text.splitlines() if line.startswith("http"))
    parts = urlsplit(url)
    m = re.search(r"/links/(\d+)/audio/([0-9a-f]{64})\.mp3$", parts.path)
    if m is None:
        raise SystemExit(f"unexpected signed audio URL: {url}")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return {"link": m.group(1), "sha256": m.group(2), "exp": query["exp"], "sig": query["sig"]}


def _counts(report_dir: Path) -> tuple[int, int, int]:
    """(cases, failed, errors) from schemathesis's JUnit report: one case per operation,
    and one for the stateful run."""
    cases = failures = errors = 0
    for xml in report_dir.glob("*.xml"):
        for suite in ET.parse(xml).getroot().iter("testsuite"):
            cases += int(suite.get("tests", 0))
            failures += int(suite.get("failures", 0))
            errors += int(suite.get("errors", 0))
    return cases, failures, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--max-examples", type=int, default=60, help="per operation and phase")
    parser.add_argument("--seed", type=int, help="schemathesis's seed, to repeat a run")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()

    st = Path(sys.executable).parent / "st"
    if not st.exists():
        raise SystemExit("schemathesis is missing: .venv/bin/pip install -e '.[dev]'")
    work = Path(tempfile.mkdtemp(prefix="api-contract-"))
    url = args.database_url or f"sqlite:///{work / 'broadcaster.db'}"
    settings = bench_settings(url, work)
    engine = make_engine(url)
    print("building the station world (two stations, today's slots, real audio)…", flush=True)
    world = build_world(engine, settings, stations_wanted=2, days=[local_today(TZ)], audio=True)
    code = world.codes[0]
    sha = next(sha for _id, _start, sha in world.slots[code] if sha)
    with transaction(make_sessionmaker(engine)) as s:
        secret = tokens.issue(s, system_actor(), code, link=True).token
    engine.dispose()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(bench_env(url, work), port, work / "server.log")
    try:
        signed = _signed_audio(base, secret)
        pinned = {
            "path.code": code,
            "path.secret": secret,
            "path.link": signed["link"],
            "query.exp": signed["exp"],
            "query.sig": signed["sig"],
            "path.sha256": sha,
            "query.wait": "0",
        }
        if signed["sha256"] != sha:  # the linked file must be the pinned one, or its sig fails
            pinned["path.sha256"] = signed["sha256"]
        config = work / "schemathesis.toml"
        _config(config, pinned, world.tokens[code], args.max_examples)
        reports = work / "reports"
        command = [
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{base}/api/v1/openapi.json",
            "--checks",
            "all",
            "--phases",
            PHASES,
            "--report",
            "junit",
            "--report-dir",
            str(reports),
            "--workers",
            "1",
            *(["--seed", str(args.seed)] if args.seed is not None else []),
        ]
        print("running:", " ".join(command), flush=True)
        started = time.perf_counter()
        run = subprocess.run(command, cwd=work, check=False, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        print(run.stdout, run.stderr, sep="\n", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    operations, failures, errors = _counts(reports)
    generated = re.search(r"(\d+) generated", run.stdout)
    print(
        f"\napi contract: {operations} schemathesis cases (operations + stateful), "
        f"{generated.group(1) if generated else '?'} requests generated, "
        f"{failures} failed, {errors} errors, in {seconds:.0f} s "
        f"(checks: all; phases: {PHASES}; up to {args.max_examples} examples each); "
        f"schemathesis exit status {run.returncode}"
    )
    if args.keep or run.returncode:
        print(f"working folder kept: {work} (server.log, schemathesis.toml, reports/)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return run.returncode


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
