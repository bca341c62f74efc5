"""The entries for other servers: ``app`` (WSGI) and ``asgi`` (the station front).

``uvicorn --workers 4 'broadcaster.webapp.wsgi:asgi'`` serves it as ``broadcaster
serve`` does, several processes wide: stations waiting for emergencies hold no
thread. ``gunicorn 'broadcaster.webapp.wsgi:app'`` serves the plain WSGI app; there
each waiting station holds a thread.

Configured from the environment like every command (``BROADCASTER_*``); the
scheduler is not started here — run ``broadcaster scheduler`` beside it.
"""

from broadcaster import logs
from broadcaster.webapp import create_app, freeze_startup_objects
from broadcaster.webapp.asgi import StationFront

app = create_app()
# the app's lines in the product's form (local time with its offset), as under `serve`
logs.configure(app.config["BROADCASTER_SETTINGS"].tz)
asgi = StationFront(app)
freeze_startup_objects()
