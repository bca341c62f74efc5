"""Real programs for the tests, from Debian's packages (the project's own set-up).

When a program a test needs is missing and the suite runs as root on Debian, it
is installed with apt-get (once; a minute or two). Elsewhere the test skips and
says why, unless the named environment variable (``.ci/run`` sets them) turns
the missing program into a failure.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
_LOCK = os.path.join(tempfile.gettempdir(), "broadcaster-tests-apt.lock")


def apt_install(packages: list[str]) -> str:
    """``apt-get install`` these packages when we may; what happened, in words."""
    if os.name != "posix" or os.geteuid() != 0:
        return "not root, so nothing can be installed here"
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    print(
        f"\n[tests] installing Debian's {' '.join(packages)} (once)…", file=sys.stderr, flush=True
    )
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt at work: wait for it, not fail
    commands = [
        ["dpkg", "--configure", "-a"],  # an install cut short earlier blocks every other
        ["apt-get", *wait, "update", "-qq"],
        ["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", *packages],
    ]
    # the suite's parallel workers install one at a time (the second finds it done)
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for command in commands:
            done = subprocess.run(command, env=_ENV, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    return "installed"


def require_program(names: list[str], packages: list[str], require_var: str) -> str:
    """The path of the first of ``names`` found, installing ``packages`` if need be."""

    def find() -> str | None:
        for name in names:
            if name and (path := shutil.which(name)):
                return path
        return None

    path = find()
    if path is None:
        outcome = apt_install(packages)
        path = find()
    if path is None:
        message = f"no {names[0]} for this test ({outcome})"
        if os.environ.get(require_var, "") not in ("", "0"):
            pytest.fail(f"{message}; {require_var} is set", pytrace=False)
        pytest.skip(f"SKIPPED, {message}; set {require_var}=1 to make this a failure")
    return path
