"""Placeholder; the planner is being written."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlanReport:
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    unplaced: list = field(default_factory=list)


def plan(session, *, now=None, days=14, tz=None, campaign_ids=None, progress=None) -> PlanReport:
    raise NotImplementedError
