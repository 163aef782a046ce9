"""The one error the demo raises: an expected effect did not happen (or a request was refused)."""

from __future__ import annotations


class DemoFailure(Exception):
    """A step of the demo did not produce its effect. ``str()`` is the message for the user."""

    def __init__(self, step: str, message: str, detail: str = "") -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.detail = detail
