"""`release-bot demo`: a guided tour of one whole release on the built-in sandbox.

Layout (one concern per module):

- ``environment``: the sandbox in-process, a real ``release-bot serve`` subprocess pointed at it,
  ``settle()`` (every webhook answered and the bot's queue empty), teardown.
- ``actors``: the seeded users as REST clients (``sandbox-token-<login>``).
- ``readback``: what the bot did, read back from the sandbox the way a person would see it.
- ``story``: the scripted release of ``acme/rocket``, step by step, with the effect each step
  must have; a missing effect is a ``DemoFailure`` (so the demo doubles as a smoke test).
- ``narrator``: the printed narrative; ``summary``: API calls per actor.
"""

from bot.demo.errors import DemoFailure

__all__ = ["DemoFailure"]
