"""The scheduler service: plan, render, watchdog and report jobs, fired by one leader."""

from broadcaster.scheduler.service import Intervals, SchedulerService

__all__ = ["Intervals", "SchedulerService"]
