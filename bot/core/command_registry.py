"""Every slash command the bot knows, declared once: where it applies, who may run it, its help. Pure.

One ``CommandSpec`` per command and place (Prow's plugin help is the model): its forms (syntax and
help line), the roles that may run it, whether the pull request's author may, and which module
handles it. ``/help``, the usage and refusal replies and the dispatch of comments all read this
table, so a command cannot be listed in one place and missing in another. ``bot.core.commands``
parses comment bodies; this module says what the parsed names mean.

Adding a command: declare it in ``REGISTRY`` (place, handler, forms, who) and handle it in the
handler's module (``gate``: ``bot.core.gate.commands``; ``notes``:
``bot.reconcilers.release_notes``; ``release``: the tracking issue's reconciler).

Texts may name the live configuration with placeholders filled by ``render``: ``{qa}`` and
``{rm}`` (who holds the role, in words), ``{self_rule}`` (`` (not the pull request's author)``
unless self-approval is allowed), ``{uat_label}``, ``{approval_label}``, ``{hold_label}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.permissions import ROLE_QA, ROLE_RELEASE_MANAGERS
from bot.core.stages import STAGES

PULL_REQUEST = "pull request"
TRACKING_ISSUE = "tracking issue"

GATE = "gate"  # bot.core.gate.commands
NOTES = "notes"  # bot.reconcilers.release_notes
RELEASE = "release"  # the tracking issue (bot.reconcilers.release)
FREEZE = "freeze"  # bot.core.freeze.exceptions (the pull request's freeze check)


@dataclass(frozen=True)
class Form:
    """One way to write a command: its syntaxes (shown together on one help line), what it does,
    and who may run it, in words (placeholders allowed)."""

    syntaxes: tuple[str, ...]
    does: str
    who: str
    detail: str = ""  # said after who may run it (the tracking issue's help lists the stages)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # lower-case, without the slash
    place: str  # PULL_REQUEST | TRACKING_ISSUE
    handler: str  # GATE | NOTES | RELEASE
    forms: tuple[Form, ...]
    roles: frozenset[str] = frozenset()  # roles that may run it (bot.core.permissions)
    author_may: bool = False  # the pull request's author may run it too
    anyone: bool = False
    # Who may run it, in the refusal's words ("`/hold` may only be run by …"); placeholders allowed.
    refusal_who: str = ""

    def may_run(self, roles: frozenset[str], is_author: bool) -> bool:
        return self.anyone or bool(roles & self.roles) or (self.author_may and is_author)

    def usage(self) -> str:
        """``usage: `/uat passed`, `/uat failed [reason]` or `/uat cancel`.``"""
        syntaxes = [f"`{s}`" for form in self.forms for s in form.syntaxes]
        listed = syntaxes[0] if len(syntaxes) == 1 else ", ".join(syntaxes[:-1]) + " or " + syntaxes[-1]
        return f"usage: {listed}."

    def help_line(self, values: Mapping[str, str]) -> str:
        """Its forms in one sentence each, for a reply (``/help`` on a pull request is a table)."""
        lines = []
        for form in self.forms:
            syntax = " / ".join(f"`{s}`" for s in form.syntaxes)
            detail = f" {form.detail}" if form.detail else ""
            who = form.who.format(**values)
            lines.append(f"{syntax} {form.does.format(**values)}; who may run it: {who}.{detail}")
        return " ".join(lines)

    def refusal(self, values: Mapping[str, str], shown: str | None = None) -> str:
        """The reply to someone who may not run it (``shown``: the command as they wrote it)."""
        who = self.refusal_who.format(**values)
        return f"`{shown or '/' + self.name}` may only be run by {who}; nothing changed."


REGISTRY: tuple[CommandSpec, ...] = (
    # ---------------------------------------------------------------- pull requests (the gate)
    CommandSpec(
        "uat",
        PULL_REQUEST,
        GATE,
        (
            Form(("/uat passed",), "adds `{uat_label}` for the current head commit", "{qa}{self_rule}"),
            Form(("/uat failed [reason]",), "removes `{uat_label}` and records why", "{qa}"),
            Form(("/uat cancel",), "removes `{uat_label}`", "{qa}"),
        ),
        roles=frozenset({ROLE_QA}),
        refusal_who="{qa}",
    ),
    CommandSpec(
        "approve",
        PULL_REQUEST,
        GATE,
        (
            Form(("/approve",), "adds `{approval_label}` for the current head commit", "{rm}{self_rule}"),
            Form(("/approve cancel",), "removes `{approval_label}`", "{rm}"),
        ),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
        refusal_who="{rm}",
    ),
    CommandSpec(
        "hold",
        PULL_REQUEST,
        GATE,
        (
            Form(
                ("/hold",), "adds `{hold_label}`: the gate fails while it is on", "{qa}, {rm}, or the author"
            ),
        ),
        roles=frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
        author_may=True,  # holding is always safe, so the author may hold their own pull request
        refusal_who="{qa} or {rm}, or the pull request's author",
    ),
    CommandSpec(
        "unhold",
        PULL_REQUEST,
        GATE,
        (Form(("/unhold",), "removes `{hold_label}`", "{qa} or {rm}"),),
        roles=frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
        refusal_who="{qa} or {rm}",
    ),
    CommandSpec(
        "milestone",
        PULL_REQUEST,
        GATE,
        (Form(("/milestone <title>", "/milestone clear"), "sets or clears the milestone", "{rm}"),),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
        refusal_who="{rm}",
    ),
    CommandSpec(
        "release-note",
        PULL_REQUEST,
        NOTES,
        (
            Form(
                ("/release-note <text>",),
                "sets this pull request's line in the release notes",
                "the author or {rm}",
                detail="`/release-note NONE` leaves it out.",
            ),
        ),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
        author_may=True,
        refusal_who="the author of this pull request or {rm}",
    ),
    CommandSpec("help", PULL_REQUEST, GATE, (Form(("/help",), "this list", "anyone"),), anyone=True),
    # ---------------------------------------------------------------- release tracking issues
    CommandSpec(
        "stage",
        TRACKING_ISSUE,
        RELEASE,
        (
            Form(
                ("/stage <name>",),
                "move the release forward to a stage by hand",
                "release managers",
                detail="Stages: " + ", ".join(f"`{s}`" for s in STAGES) + ".",
            ),
        ),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
    ),
    CommandSpec(
        "uat",
        TRACKING_ISSUE,
        RELEASE,
        (
            Form(("/uat passed",), "accept the latest release candidate", "QA"),
            Form(("/uat failed <reason>",), "reject the latest release candidate", "QA"),
        ),
        roles=frozenset({ROLE_QA}),
    ),
    CommandSpec(
        "hold",
        TRACKING_ISSUE,
        RELEASE,
        (
            Form(
                ("/hold [reason]",),
                "put the release on hold: deployments to protected environments are refused",
                "QA or release managers",
            ),
        ),
        roles=frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
    ),
    CommandSpec(
        "unhold",
        TRACKING_ISSUE,
        RELEASE,
        (Form(("/unhold",), "lift the hold", "QA or release managers"),),
        roles=frozenset({ROLE_QA, ROLE_RELEASE_MANAGERS}),
    ),
    CommandSpec("help", TRACKING_ISSUE, RELEASE, (Form(("/help",), "this text", ""),), anyone=True),
)

# The code freeze (``releases.freeze``, docs/code-freeze.md).
REGISTRY += (
    CommandSpec(
        "exception",
        PULL_REQUEST,
        FREEZE,
        (
            Form(
                ("/exception <reason>",),
                "lets this pull request through a code freeze, for the current head commit",
                "{rm}",
            ),
            Form(("/exception cancel",), "withdraws it", "{rm}"),
        ),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
        refusal_who="{rm}",
    ),
    CommandSpec(
        "freeze",
        TRACKING_ISSUE,
        RELEASE,
        (Form(("/freeze",), "start the code freeze by hand", "release managers"),),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
    ),
    CommandSpec(
        "thaw",
        TRACKING_ISSUE,
        RELEASE,
        (Form(("/thaw",), "lift the code freeze by hand", "release managers"),),
        roles=frozenset({ROLE_RELEASE_MANAGERS}),
    ),
)


def commands_for(place: str, handler: str | None = None) -> tuple[CommandSpec, ...]:
    return tuple(c for c in REGISTRY if c.place == place and (handler is None or c.handler == handler))


def names_for(place: str, handler: str | None = None) -> frozenset[str]:
    """The command names that act in ``place`` (handled by ``handler``, if given)."""
    return frozenset(c.name for c in commands_for(place, handler))


def spec(place: str, name: str) -> CommandSpec:
    for command in REGISTRY:
        if command.place == place and command.name == name:
            return command
    raise KeyError(f"no command /{name} on a {place}")


def pull_request_help_rows(values: Mapping[str, str]) -> list[str]:
    """The rows of ``/help``'s table on a pull request: command, what it does, who may run it."""
    rows = []
    for command in commands_for(PULL_REQUEST):
        for form in command.forms:
            syntax = " / ".join(f"`{s}`" for s in form.syntaxes)
            rows.append(f"| {syntax} | {form.does.format(**values)} | {form.who.format(**values)} |")
    return rows


def tracking_issue_help() -> str:
    """``/help`` on a release tracking issue."""
    lines = ["Commands on a release tracking issue (one per line, at the start of the line):"]
    for command in commands_for(TRACKING_ISSUE):
        for form in command.forms:
            who = f" ({form.who})" if form.who else ""
            detail = f" {form.detail}" if form.detail else ""
            lines.append(f"- `{form.syntaxes[0]}` — {form.does}{who}.{detail}")
    return "\n".join(lines)
