"""Who may run a tracking-issue command: the merge gate's cached role look-ups (``bot.github.permissions``)
with the rule in words for a refusal. Never ``author_association`` (DESIGN.md trust rules)."""

from __future__ import annotations

from bot.core.permissions import role_rules
from bot.github.permissions import has_role
from bot.reconcilers.context import JobContext


def roles_for(ctx: JobContext, login: str, role: str) -> tuple[bool, str]:
    """(holds the role, who holds it in words).

    The words name teams as ``@org/team``; a zero-width space after the ``@`` keeps the reply from
    notifying the whole team each time someone runs a command they may not run.
    """
    owner = ctx.repo_full_name.partition("/")[0]
    rule = role_rules(ctx.config or {}, owner)[role]
    return has_role(ctx, login, role), rule.describe().replace("@", "@\u200b")
