"""A small stateful fake of the GitHub endpoints the release notes use, on top of ``responses``.

Enough state to test behaviour (releases change when patched, labels appear when added), not a
second sandbox: the end-to-end tests run against the real sandbox.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses
from github import Auth, Github

API = "https://api.github.com:443"
REPO = "acme/rocket"
BOT = "release-bot[bot]"


def client() -> Github:
    return Github(auth=Auth.Token("t"), per_page=100, retry=None, seconds_between_requests=0,
                  seconds_between_writes=0)


@dataclass
class FakeGitHub:
    items: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues and PRs by number
    tags: list[str] = field(default_factory=list)
    compares: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin/maintain/write/triage/read
    calls: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    # -- scenario helpers -------------------------------------------------------------------
    def add_pr(self, number: int, title: str, *, milestone: int | None = 1, merged: bool = True,
               labels: tuple[str, ...] = (), author: str = "dev", body: str = "") -> dict[str, Any]:
        item = {
            "number": number, "title": title, "body": body, "state": "closed" if merged else "open",
            "state_reason": "completed" if merged else None,
            "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
            "labels": [{"name": label} for label in labels],
            "html_url": f"https://github.com/{REPO}/pull/{number}",
            "milestone": {"number": milestone} if milestone else None,
            "pull_request": {"merged_at": "2026-01-01T00:00:00Z" if merged else None},
        }
        self.items[number] = item
        return item

    def merge_commit(self, number: int) -> dict[str, Any]:
        return {"sha": f"sha{number}", "commit": {"message": f"Merge pull request #{number} from acme/b{number}\n\nx"}}

    def add_release(self, **data: Any) -> dict[str, Any]:
        self.next_id += 1
        release = {"id": self.next_id, "tag_name": "", "name": "", "body": "", "draft": False, "prerelease": False,
                   "target_commitish": "main", "author": {"login": "someone"},
                   "html_url": f"https://github.com/{REPO}/releases/{self.next_id}"}
        release.update(data)
        self.releases[release["id"]] = release
        return release

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]

    def reads(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] == "GET"]

    # -- wiring ------------------------------------------------------------------------------
    def install(self, mock: responses.RequestsMock) -> None:
        base = re.escape(f"{API}/repos/{REPO}")
        routes = [
            ("GET", r"/issues", self._list_issues),
            ("GET", r"/issues/(\d+)", self._get_issue),
            ("PATCH", r"/issues/(\d+)", self._patch_issue),
            ("GET", r"/issues/(\d+)/comments", self._list_comments),
            ("POST", r"/issues/(\d+)/comments", self._add_comment),
            ("POST", r"/issues/(\d+)/labels", self._add_labels),
            ("GET", r"/pulls/(\d+)", self._get_pull),
            ("GET", r"/git/matching-refs/tags/(.*)", self._tags),
            ("GET", r"/compare/(.+)\.\.\.(.+)", self._compare),
            ("GET", r"/releases", self._list_releases),
            ("GET", r"/releases/tags/(.+)", self._release_by_tag),
            ("GET", r"/releases/(\d+)", self._get_release),
            ("POST", r"/releases", self._create_release),
            ("PATCH", r"/releases/(\d+)", self._patch_release),
            ("DELETE", r"/releases/(\d+)", self._delete_release),
            ("GET", r"/collaborators/([^/]+)/permission", self._permission),
        ]
        for method, pattern, handler in routes:
            mock.add_callback(method, re.compile(base + pattern + r"(\?.*)?$"),
                              callback=self._wrap(method, pattern, handler))

    def _wrap(self, method: str, pattern: str, handler: Any) -> Any:
        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            url = urlsplit(request.url)
            path = unquote(url.path.removeprefix(f"/repos/{REPO}"))
            self.calls.append((method, url.path + ("?" + url.query if url.query else "")))
            m = re.fullmatch(pattern, path)
            assert m is not None, (pattern, path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = json.loads(request.body) if request.body else None
            status, data, headers = handler(*m.groups(), query=query, body=body)
            return status, {"Content-Type": "application/json", **headers}, json.dumps(data) if data is not None else ""

        return callback

    @staticmethod
    def _page(items: list[Any], query: dict[str, str], path: str) -> tuple[list[Any], dict[str, str]]:
        per_page = int(query.get("per_page", 30))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = {**query, "page": str(page + 1)}
            qs = "&".join(f"{k}={v}" for k, v in nxt.items())
            headers["Link"] = f'<https://api.github.com/repos/{REPO}{path}?{qs}>; rel="next"'
        return chunk, headers

    def _list_issues(self, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        items = [i for n, i in sorted(self.items.items())
                 if (i.get("milestone") or {}).get("number") == int(query.get("milestone", -1))
                 and query.get("state", "open") in (i["state"], "all")]
        chunk, headers = self._page(items, query, "/issues")
        return 200, chunk, headers

    def _get_issue(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        item = self.items.get(int(number))
        return (200, item, {}) if item else (404, {"message": "Not Found"}, {})

    def _get_pull(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        item = self.items.get(int(number))
        if item is None or "pull_request" not in item:
            return 404, {"message": "Not Found"}, {}
        merged_at = item["pull_request"].get("merged_at")
        # GitHub: the merge commit, the squash commit, or the last commit a rebase wrote.
        sha = item.get("_merge_sha", f"sha{number}")
        return 200, {"number": int(number), "merged_at": merged_at, "merge_commit_sha": sha}, {}

    def _patch_issue(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        self.items[int(number)].update(body)
        return 200, self.items[int(number)], {}

    def _list_comments(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        chunk, headers = self._page(self.comments.get(int(number), []), query, f"/issues/{number}/comments")
        return 200, chunk, headers

    def _add_comment(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        self.next_id += 1
        comment = {"id": self.next_id, "body": body["body"], "user": {"login": BOT}}
        self.comments.setdefault(int(number), []).append(comment)
        return 201, comment, {}

    def _add_labels(self, number: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        item = self.items.get(int(number))
        if item is None:
            return 404, {"message": "Not Found"}, {}
        names = {label["name"] for label in item["labels"]}
        item["labels"] += [{"name": n} for n in body["labels"] if n not in names]
        return 200, item["labels"], {}

    def _tags(self, prefix: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        refs = [{"ref": f"refs/tags/{t}"} for t in self.tags if t.startswith(prefix)]
        chunk, headers = self._page(refs, query, f"/git/matching-refs/tags/{prefix}")
        return 200, chunk, headers

    def _compare(self, base: str, head: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        commits = self.compares.get((base, head))
        if commits is None:
            return 404, {"message": "Not Found"}, {}
        chunk, headers = self._page(commits, query, f"/compare/{base}...{head}")
        return 200, {"total_commits": len(commits), "commits": chunk, "status": "ahead"}, headers

    def _list_releases(self, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        ordered = sorted(self.releases.values(), key=lambda r: -r["id"])
        chunk, headers = self._page(ordered, query, "/releases")
        return 200, chunk, headers

    def _release_by_tag(self, tag: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        for release in self.releases.values():
            if release["tag_name"] == tag and not release["draft"]:
                return 200, release, {}
        return 404, {"message": "Not Found"}, {}

    def _get_release(self, rid: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        release = self.releases.get(int(rid))
        return (200, release, {}) if release else (404, {"message": "Not Found"}, {})

    def _create_release(self, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        data = {k: v for k, v in body.items() if k != "make_latest"}
        release = self.add_release(author={"login": BOT}, **data)
        release["_sent"] = body
        return 201, release, {}

    def _patch_release(self, rid: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        release = self.releases[int(rid)]
        release.update({k: v for k, v in body.items() if k != "make_latest"})
        release["_sent"] = body
        return 200, release, {}

    def _delete_release(self, rid: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        self.releases.pop(int(rid), None)
        return 204, None, {}

    def _permission(self, login: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        level = self.permissions.get(login, "read")
        order = ["read", "triage", "write", "maintain", "admin"]
        have = order.index(level)
        perms = {"pull": True, "triage": have >= 1, "push": have >= 2, "maintain": have >= 3, "admin": have >= 4}
        return 200, {"permission": level, "role_name": level, "user": {"login": login, "permissions": perms}}, {}
