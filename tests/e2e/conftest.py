"""End-to-end fixtures (see harness.py): ``e2e``, ``bot_factory``."""

from harness import bot_factory, e2e  # noqa: F401 - pytest fixtures
