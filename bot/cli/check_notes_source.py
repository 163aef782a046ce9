"""``check-config`` of a ``.github/release-drafter.yml`` or ``.github/release.yml``.

Errors: what release-drafter or GitHub would not accept (the value's default stands in when the
bot renders). Warnings: options release-bot cannot honour the way those tools do (a condition on
changed files, ``_extends``), so that nothing is dropped in silence.
Exit codes: 0 usable (warnings may be printed), 1 errors.
"""

from __future__ import annotations

from bot.config.validate import ConfigError, parse_yaml
from bot.core.notes.drafter_config import capability_notes, parse_drafter_config
from bot.core.notes.github_notes import parse_release_yml


def check_notes_source(text: str, name: str, kind: str) -> int:
    try:
        data, _node = parse_yaml(text)
    except ConfigError as exc:
        print(exc.render())
        return 1
    if data is not None and not isinstance(data, dict):
        print(f"{name}: expected a mapping at the top level")
        return 1
    if kind == "release_drafter_yml":
        config = parse_drafter_config(data or {})
        errors = list(config.errors)
        # The running bot reads first contributions when the template asks ($NEW_CONTRIBUTORS).
        warnings = capability_notes(config, files_known=False, contributions_known=True)
        if "$BASE_REF_NAME" in config.change_template or "$HEAD_REF_NAME" in config.change_template:
            warnings.append(
                "release-drafter.yml change-template: $BASE_REF_NAME / $HEAD_REF_NAME need the branches "
                "of each pull request, which release-bot does not read: left as written"
            )
    else:
        errors = list(parse_release_yml(data or {}).errors)
        warnings = []
    for error in errors:
        print(f"{name}: {error}")
    for warning in warnings:
        print(f"{name}: warning: {warning}")
    if errors:
        print(f"{name}: {len(errors)} problem(s)")
        return 1
    print(f"{name}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return 0
