"""Which parts of a title the notes leave verbatim as code: exactly the code spans CommonMark reads
(checked against markdown-it-py, the CommonMark parser the web pages use), never more."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from bot.core.notes.escape import code_spans, escape_user_text

COMMONMARK = MarkdownIt("commonmark")


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("Fix `<div>` rendering", ["`<div>`"]),
        ("`a` and ``b`` and ```c```", ["`a`", "``b``", "```c```"]),
        ("\\``<img>`code <b>`", ["`<img>`"]),  # the escaped backtick leaves a run of one
        ("\\`<img>`", []),  # escaped opener: no span, the rest is not surely code
        ("``<b>` x", []),  # a run of two is not closed by a run of one
        ("x\\\\`<i>`", ["`<i>`"]),  # an escaped backslash does not escape the backtick
        ("`a\nb`", []),  # not closed on its line: nothing after it is taken for code
    ],
)
def test_code_spans_are_read_as_commonmark_reads_them(text: str, spans: list[str]) -> None:
    assert [text[a:b] for a, b in code_spans(text)] == spans


@pytest.mark.parametrize(
    "title",
    ["\\``<img src=x onerror=alert(1)>`code <b>`", "``<b>` x", "a `<i>` b ``<s>`` c \\`<u>`"],
)
def test_no_tag_outside_code_survives_the_escape(title: str) -> None:
    html = COMMONMARK.render(escape_user_text(title))
    outside_code = html
    for fragment in html.split("<code>")[1:]:
        outside_code = outside_code.replace(fragment.split("</code>")[0], "")
    assert not any(tag in outside_code for tag in ("<img", "<b>", "<i>", "<s>", "<u>")), html
