"""Markdown to HTML for the pages (the release notes draft): markdown-it-py, CommonMark with
GitHub's tables and strikethrough, task lists shown as (disabled) boxes.

Raw HTML in the source is not passed through (``html=False``: it shows as text), link targets
are validated by markdown-it's ``validateLink`` (no ``javascript:``), and HTML comments — where
the bot keeps its markers, which GitHub hides — are removed first, as GitHub does.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.tasklists import tasklists_plugin

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}) \
    .enable(["table", "strikethrough"]).use(tasklists_plugin)


def render_markdown(text: str | None) -> Markup:
    """Safe HTML of user-written Markdown (everything it contains is escaped by the renderer)."""
    return Markup(_md.render(_COMMENT_RE.sub("", text or "")))  # noqa: S704 - rendered with html=False


def render_inline(text: str | None) -> Markup:
    """One line of user Markdown (a checklist item): code spans, emphasis, links; no blocks."""
    return Markup(_md.renderInline(_COMMENT_RE.sub("", text or "")))  # noqa: S704 - html=False
