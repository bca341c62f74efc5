"""The WSGI entry for other servers: ``gunicorn 'broadcaster.webapp.wsgi:app'``.

Configured from the environment like every command (``BROADCASTER_*``); the
scheduler is not started here — run ``broadcaster scheduler`` beside it.
"""

from broadcaster.webapp import create_app, freeze_startup_objects

app = create_app()
freeze_startup_objects()
