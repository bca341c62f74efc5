"""The station agent (tác tử đài): runs on a commune station's PC and plays what the server plans.

It talks to the server only through the station API (:mod:`broadcaster.agent.client`),
keeps everything it must not lose in a local SQLite spool (:mod:`broadcaster.agent.spool`),
plays audio through a pluggable :class:`~broadcaster.agent.players.Player`, and is driven by
:class:`~broadcaster.agent.runner.Runner`. ``broadcaster agent`` (``broadcaster/cli/agent.py``)
is the thin command-line shell over it; see ``docs/agent.md``.
"""

from __future__ import annotations

from broadcaster.agent.runner import AgentConfig, Runner

__all__ = ["AgentConfig", "Runner"]
