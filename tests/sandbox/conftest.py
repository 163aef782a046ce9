"""Fixtures of the sandbox tests, defined in validation.py (the fidelity harness):
``sb`` (one running sandbox per module, with a webhook recorder) and ``webhook_recorder``."""

from validation import sb, webhook_recorder  # noqa: F401 (pytest finds fixtures by name here)
