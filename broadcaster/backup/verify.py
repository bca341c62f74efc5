"""Proving a restored database: what ``broadcaster restore --verify`` runs on the copy.

Three checks, each with its own time so a reader sees what verification costs beside
the restore itself:

* the row counts of the main tables are the manifest's (the dump holds what it said);
* every station's airing hash chain (what ``broadcaster audit verify`` runs:
  :func:`broadcaster.services.chain.verify`);
* every stored compliance report (what ``broadcaster report verify`` runs for one:
  :func:`broadcaster.reports.store.verify`), under the installation's secret key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.backup import contents
from broadcaster.models import ComplianceReport, Station
from broadcaster.reports import store
from broadcaster.reports.seal import SealKey
from broadcaster.services import chain

# progress(stage, done, total): stage is "chain" or "reports"; total is known up front
Progress = Callable[[str, int, int], None]


@dataclass
class Proof:
    stations: int = 0
    airings: int = 0
    chain_breaks: list[chain.Break] = field(default_factory=list)
    reports: int = 0
    report_problems: dict[int, list[str]] = field(default_factory=dict)
    count_problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.chain_breaks or self.report_problems or self.count_problems)


def compare_counts(engine: Engine, manifest: dict) -> list[str]:
    expected = manifest.get("row_counts") or {}
    with engine.connect() as conn:
        found = contents.row_counts(conn)
    return [
        f"bảng {table}: bản sao lưu ghi {n} dòng, khôi phục được {found.get(table)}"
        for table, n in sorted(expected.items())
        if found.get(table) != n
    ]


def prove(
    engine: Engine,
    manifest: dict,
    secret_key: str,
    progress: Progress | None = None,
) -> Proof:
    proof = Proof()
    factory = sessionmaker(engine)
    t0 = time.perf_counter()
    proof.count_problems = compare_counts(engine, manifest)
    t1 = time.perf_counter()
    proof.seconds["counts"] = t1 - t0
    with factory() as session:
        _chains(session, proof, progress)
    t2 = time.perf_counter()
    proof.seconds["chain"] = t2 - t1
    with factory() as session:
        _reports(session, proof, SealKey.from_secret(secret_key), progress)
    proof.seconds["reports"] = time.perf_counter() - t2
    return proof


def _chains(session: Session, proof: Proof, progress: Progress | None) -> None:
    total = session.query(Station.id).count()
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("chain", done, total)

    report = chain.verify(session, progress=step)
    proof.stations, proof.airings, proof.chain_breaks = report.stations, report.rows, report.breaks


def _reports(session: Session, proof: Proof, key: SealKey, progress: Progress | None) -> None:
    ids = session.scalars(select(ComplianceReport.id).order_by(ComplianceReport.id)).all()
    proof.reports = len(ids)
    if progress:
        progress("reports", 0, len(ids))
    for n, report_id in enumerate(ids, 1):
        result = store.verify(session, report_id, key=key)
        if not result.ok:
            proof.report_problems[report_id] = list(result.problems)
        session.expunge_all()  # a national report's rows are not needed once proven
        if progress:
            progress("reports", n, len(ids))
