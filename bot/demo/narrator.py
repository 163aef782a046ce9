"""The demo's printed narrative: plain text, one block per step, readable in a terminal or a CI log.

Lines are prefixed so a reader (or a test) can tell who did what: `  >` a person acted,
`  bot:` what the bot did in response, `    ` details and links.
"""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

_WIDTH = 78


class Narrator:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def banner(self, text: str) -> None:
        self._print("=" * _WIDTH)
        self._print(text)
        self._print("=" * _WIDTH)

    def step(self, number: int, total: int, title: str) -> None:
        head = f"-- Step {number}/{total}: {title} "
        self._print()
        self._print(head + "-" * max(3, _WIDTH - len(head)))

    def _wrapped(self, first: str, text: str) -> None:
        # Long sentences (a bot reply, a check title) wrap under themselves; URLs never break.
        lines = textwrap.wrap(text, width=_WIDTH + 20, initial_indent=first, subsequent_indent=" " * 7,
                              break_long_words=False, break_on_hyphens=False)
        for line in lines or [first.rstrip()]:
            self._print(line)

    def act(self, login: str, text: str) -> None:
        self._wrapped(f"  > {login} ", text)

    def bot(self, text: str) -> None:
        self._wrapped("  bot: ", text)

    def detail(self, text: str) -> None:
        self._wrapped(" " * 7, text)

    def link(self, label: str, url: str | None) -> None:
        if url:
            self._print(f"       {label}: {url}")

    def line(self, text: str = "") -> None:
        self._print(text)

    def error(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)
