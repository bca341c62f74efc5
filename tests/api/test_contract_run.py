"""bench/api_contract.py itself: a short, seeded schemathesis run against a live server.

The full run (``python bench/api_contract.py``, 60 examples per operation and phase)
is the figure reported; this keeps the command working and the API inside its
document between runs.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_api_contract_run_finds_no_failure():
    run = subprocess.run(
        [sys.executable, "bench/api_contract.py", "--max-examples", "8", "--seed", "20261206"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " 0 failed, 0 errors" in summary and "requests generated" in summary, summary
