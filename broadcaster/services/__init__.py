"""Service functions: the one place the CLI and the web layer call into.

Each function takes a SQLAlchemy session (the caller owns the transaction:
one per command or request) and returns plain dataclasses.
"""
