"""Relay streams (luồng tiếp âm) without a database: which addresses may be opened
(:mod:`.urls`) and whether one answers with a live stream (:mod:`.check`).

The server's sources service and the station agent both use these, so neither module
imports the ORM, Flask or click.
"""
