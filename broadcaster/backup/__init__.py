"""Backups that restore (sao lưu và khôi phục): one file per backup, checked before use.

A backup is one uncompressed tar (:mod:`broadcaster.backup.archive`): a signed
``manifest.json``, the database dump (PostgreSQL's ``pg_dump -Fc`` through
:mod:`~broadcaster.backup.postgres`, or a SQLite copy made with its online backup API
through :mod:`~broadcaster.backup.sqlite`), and ``audio-manifest.json``, the audio files
the database knows (the files themselves are the audio folder's own backup's business).
:mod:`~broadcaster.backup.restore` checks a file fully before anything is touched and
restores it; :mod:`~broadcaster.backup.verify` proves a restored database (airing
chains, stored reports). The core imports neither Flask nor click.
"""
