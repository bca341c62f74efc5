"""gunicorn's worker for broadcaster: uvicorn serving the station front (``wsgi:asgi``).

As under ``broadcaster serve``: no lifespan, no Server header, keep-alive past the
agents' 50 s long-poll, and no proxy-header guessing of its own — the client's address
is taken from X-Forwarded-For only through ``BROADCASTER_TRUSTED_PROXIES`` (Flask's
ProxyFix), so a forged header from a client that reached the process directly changes
nothing. ``deploy/gunicorn.conf.py`` names this class.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 (uvicorn_worker's own name and type)
        "loop": "auto",
        "http": "auto",
        "lifespan": "off",
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": 75,
        "access_log": False,
    }
