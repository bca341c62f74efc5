"""The scheduler tests plan real campaigns: the planning fixtures, shared."""

from tests.planning.conftest import approved_script, campaign  # noqa: F401
