"""Planning (lập lịch phát): campaigns' cadence turned into Slots, a rolling horizon ahead."""

from broadcaster.planning.planner import PlanReport, plan

__all__ = ["PlanReport", "plan"]
