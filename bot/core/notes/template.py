"""Substitution of ``$VARIABLE`` templates from configuration files.

Templates come from maintainers (`.github/release-bot.yml`, `release-drafter.yml`); the values
substituted into them come from users (pull request titles, logins). Substitution is a single
pass of :class:`string.Template`: a value is inserted as plain text and never looked at again, so
a title that contains ``$VERSION`` stays literally ``$VERSION``. Nothing is ever evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from string import Template

# Which variables each kind of template may use (release-drafter's names where they exist).
LINE_VARIABLES = frozenset({"TITLE", "NUMBER", "AUTHOR", "URL"})
DOCUMENT_VARIABLES = frozenset(
    {
        "VERSION",
        "RESOLVED_VERSION",  # release-drafter's name for the version being released
        "TAG",
        "PREVIOUS_TAG",
        "CONTRIBUTORS",
        "OWNER",
        "REPOSITORY",
        "COMPARE_URL",
        "MILESTONE_URL",
    }
)
BODY_VARIABLES = DOCUMENT_VARIABLES | {"CHANGES"}


class TemplateError(ValueError):
    """A template that cannot be used: unknown variable or malformed ``$``."""


@dataclass(frozen=True)
class CheckedTemplate:
    """A template whose variables were checked against the allowed set once, up front."""

    source: str
    template: Template

    def render(self, values: Mapping[str, str]) -> str:
        # substitute() cannot fail here: every identifier was checked in compile_template.
        return self.template.substitute(values)


def compile_template(source: str, allowed: Iterable[str], *, name: str) -> CheckedTemplate:
    """Check ``source`` and return a template ready to render; raise TemplateError naming the problem."""
    if not isinstance(source, str):
        raise TemplateError(f"{name}: expected a string, got {type(source).__name__}")
    template = Template(source)
    if not template.is_valid():
        raise TemplateError(
            f"{name}: a '$' must start a variable like $TITLE (write '$$' for a literal dollar sign)"
        )
    allowed_set = frozenset(allowed)
    unknown = sorted(set(template.get_identifiers()) - allowed_set)
    if unknown:
        names = ", ".join("$" + u for u in unknown)
        known = ", ".join("$" + a for a in sorted(allowed_set))
        raise TemplateError(f"{name}: unknown variable {names} (known: {known})")
    return CheckedTemplate(source, template)
