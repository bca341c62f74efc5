"""gunicorn's settings for broadcaster's web processes (docs/deploy.md).

Made by ``broadcaster deploy config`` on {{made_at}}. Each ``broadcaster-web@PORT``
unit starts one gunicorn with this file and ``--bind 127.0.0.1:PORT``; nginx spreads
the requests over them, so one can restart (an upgrade, a crash) while the others answer.
"""

wsgi_app = "broadcaster.webapp.wsgi:asgi"
# uvicorn workers: stations waiting for emergencies wait on the event loop, holding no thread
worker_class = "broadcaster.webapp.gunicorn_worker.Worker"
workers = int("{{workers}}")  # filled by `broadcaster deploy config`
# the long-polls last up to 55 s; a worker silent for this long is restarted
timeout = 120
graceful_timeout = 30
keepalive = 75  # past the agents' 50 s long-poll: one connection each through nginx
# the client's address comes from X-Forwarded-For through BROADCASTER_TRUSTED_PROXIES
# (Flask's ProxyFix), never from gunicorn's own guess
forwarded_allow_ips = ""
accesslog = None  # nginx keeps the access log
errorlog = "-"  # stderr: the journal
capture_output = True
# gunicorn 27's control socket sits at one path per user: several instances on a host would
# take it from each other, and nothing here uses it
control_socket_disable = True


def on_starting(server):
    """Forget the gauges of processes that died without telling (a SIGKILL, a power cut)."""
    from broadcaster import metrics

    metrics.forget_dead_processes()


def child_exit(server, worker):
    """A worker's gauges leave with it; its counters stay counted."""
    from broadcaster import metrics

    metrics.process_gone(worker.pid)
