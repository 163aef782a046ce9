"""release-drafter's version variables: ``$RESOLVED_VERSION`` is the milestone's version (what
release-bot releases), ``$NEXT_{MAJOR,MINOR,PATCH,PRERELEASE}_VERSION`` are the increments of the
previous release, each rendered through ``version-template``. Semantic-version increments follow
node-semver's ``inc`` (the library release-drafter uses)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FULL = re.compile(
    r"^\s*[v=]*\s*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$"
)
_COERCE = re.compile(r"(?:^|[^\d])(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?:$|[^\d])")


@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...] = ()

    def increment(self, kind: str, identifier: str | None = None) -> SemVer:
        if kind == "major":
            if self.minor or self.patch or not self.prerelease:
                return SemVer(self.major + 1, 0, 0)
            return SemVer(self.major, 0, 0)
        if kind == "minor":
            if self.patch or not self.prerelease:
                return SemVer(self.major, self.minor + 1, 0)
            return SemVer(self.major, self.minor, 0)
        if kind == "patch":
            if not self.prerelease:
                return SemVer(self.major, self.minor, self.patch + 1)
            return SemVer(self.major, self.minor, self.patch)
        if kind == "prerelease":
            if not self.prerelease:
                return SemVer(self.major, self.minor, self.patch + 1).with_pre(identifier)
            return self.bump_pre(identifier)
        return self

    def with_pre(self, identifier: str | None) -> SemVer:
        return SemVer(self.major, self.minor, self.patch, (identifier, 0) if identifier else (0,))

    def bump_pre(self, identifier: str | None) -> SemVer:
        pre = list(self.prerelease)
        index = next((i for i in range(len(pre) - 1, -1, -1) if isinstance(pre[i], int)), None)
        if index is None:
            pre.append(0)
        else:
            pre[index] = int(pre[index]) + 1
        if identifier and (pre[0] != identifier or not isinstance(pre[1] if len(pre) > 1 else None, int)):
            pre = [identifier, 0]
        return SemVer(self.major, self.minor, self.patch, tuple(pre))

    @property
    def prerelease_text(self) -> str:
        return "-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else ""


def parse_semver(text: str | None) -> SemVer | None:
    """node-semver's ``parse`` then ``coerce`` (which keeps no pre-release)."""
    if not text:
        return None
    m = _FULL.match(text)
    if m:
        pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
        return SemVer(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)
    c = _COERCE.search(text)
    if not c:
        return None
    return SemVer(int(c.group(1)), int(c.group(2) or 0), int(c.group(3) or 0))


def render_version(template: str, version: SemVer) -> str:
    values = {
        "$MAJOR": str(version.major),
        "$MINOR": str(version.minor),
        "$PATCH": str(version.patch),
        "$PRERELEASE": version.prerelease_text,
    }
    return re.sub(r"\$[A-Z_]+", lambda m: values.get(m.group(0), m.group(0)), template)


def version_variables(
    resolved: str,
    previous_tag: str | None,
    *,
    template: str,
    tag_prefix: str = "",
    identifier: str | None = None,
) -> dict[str, str]:
    """The ``$NEXT_*`` and ``$RESOLVED_VERSION*`` values release-drafter substitutes."""
    previous = None
    if previous_tag:
        stripped = (
            previous_tag[len(tag_prefix) :]
            if tag_prefix and previous_tag.startswith(tag_prefix)
            else previous_tag
        )
        previous = parse_semver(stripped)
    reference = previous or SemVer(0, 0, 0)
    out: dict[str, str] = {}
    for kind in ("major", "minor", "patch"):
        nxt = reference.increment(kind, identifier)
        name = f"$NEXT_{kind.upper()}_VERSION"
        out[name] = render_version(template, nxt)
        out[name + "_MAJOR"], out[name + "_MINOR"], out[name + "_PATCH"] = (
            str(nxt.major),
            str(nxt.minor),
            str(nxt.patch),
        )
    pre = reference.increment("prerelease", identifier)
    out["$NEXT_PRERELEASE_VERSION"] = render_version(template, pre)
    out["$NEXT_PRERELEASE_VERSION_PRERELEASE"] = pre.prerelease_text
    version = parse_semver(resolved)
    if version is not None:
        out["$RESOLVED_VERSION"] = render_version(template, version)
        out["$RESOLVED_VERSION_MAJOR"] = str(version.major)
        out["$RESOLVED_VERSION_MINOR"] = str(version.minor)
        out["$RESOLVED_VERSION_PATCH"] = str(version.patch)
        out["$RESOLVED_VERSION_PRERELEASE"] = version.prerelease_text
    return out
