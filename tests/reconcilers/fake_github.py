"""A small in-memory GitHub for reconciler tests: just the REST calls the release reconciler makes.

It answers at the PyGithub requester level (``gh.requester.requestJsonAndCheck``), records every
call, and keeps the state the assertions look at. The real wire-level behaviour is covered by
the sandbox and the end-to-end tests; this keeps the reconciler's logic tests fast.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from github import GithubException

REPO = "acme/rocket"
BOT = "release-bot[bot]"
PERMS = {
    "admin": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    "maintain": {"admin": False, "maintain": True, "push": True, "triage": True, "pull": True},
    "write": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    "read": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
}


@dataclass
class FakeGitHub:
    milestones: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=lambda: ["main"])
    releases: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=lambda: {
        "pm": "maintain", "releaser": "maintain", "qa": "write", "dev": "write", "outsider": "read"})
    pull_bases: dict[int, str] = field(default_factory=dict)
    reactions: list[tuple[int, str, str]] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)  # only the App (BOT) writes them
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: list[tuple[str, str]] = field(default_factory=list)  # (verb, path regex): fail once with 502

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._numbers = itertools.count(1)
        self.requester = self

    # -- helpers for tests --------------------------------------------------------------------
    def add_milestone(self, title: str, due_on: str | None = None, created_at: str = "2026-11-01T10:00:00Z") -> int:
        number = len(self.milestones) + 1
        self.milestones[number] = {"number": number, "title": title, "state": "open", "due_on": due_on,
                                   "created_at": created_at,
                                   "html_url": f"http://gh/{REPO}/milestone/{number}"}
        return number

    def add_issue(self, title: str, milestone: int | None = None, author: str = "dev", pr: bool = False,
                  state: str = "open", merged: bool = False, body: str = "", labels: list[str] | None = None,
                  created_at: str = "2026-11-02T10:00:00Z") -> int:
        number = next(self._numbers)
        self.issues[number] = {
            "number": number, "title": title, "body": body, "state": state, "user": {"login": author, "type": "User"},
            "labels": [{"name": n} for n in labels or []], "milestone_number": milestone, "created_at": created_at,
            "pull_request": ({"merged_at": "2026-11-10T10:00:00Z" if merged else None} if pr else None),
            "state_reason": None,
        }
        return number

    def comment(self, issue: int, author: str, body: str) -> int:
        cid = next(self._ids)
        now = self.stamp()
        self.comments[cid] = {"id": cid, "issue": issue, "body": body, "user": {"login": author, "type": "User"},
                              "created_at": now, "updated_at": now}
        return cid

    def edit_comment(self, cid: int, body: str) -> None:
        """An edit moves the comment's ``updated_at``, as on GitHub (a ``since`` listing finds it)."""
        self.comments[cid]["body"] = body
        self.comments[cid]["updated_at"] = self.stamp()

    def stamp(self) -> str:
        """A fake clock a minute further at each write: timestamps strictly increase."""
        self._minutes = getattr(self, "_minutes", 0) + 1
        return f"2026-11-26T{self._minutes // 60 % 24:02d}:{self._minutes % 60:02d}:00Z"

    def reads(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] == "GET"]

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]

    def record_state(self, milestone: int) -> dict[str, Any]:
        """The state in the release record the App wrote for ``milestone`` (its check run)."""
        from bot.core.release_record import decode_record_text, record_external_id

        (run,) = [r for r in self.check_runs.values() if r["external_id"] == record_external_id(milestone)]
        return decode_record_text(run["output"].get("text"))

    def tracking_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.issues.values() if i["user"]["login"] == BOT]

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["issue"] == issue]

    # -- the requester ------------------------------------------------------------------------
    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in issue.items() if k != "milestone_number"}
        m = issue["milestone_number"]
        out["milestone"] = dict(self.milestones[m]) if m in self.milestones else None
        return out

    def requestJsonAndCheck(self, verb: str, url: str, parameters: dict[str, Any] | None = None,
                            input: Any = None, headers: Any = None) -> tuple[dict[str, str], Any]:  # noqa: A002
        path = url.split("?", 1)[0]
        self.calls.append((verb, path))
        for fault in list(self.faults):
            if fault[0] == verb and re.search(fault[1], path):
                self.faults.remove(fault)
                raise GithubException(502, {"message": "Bad Gateway"}, {})
        p = parameters or {}
        prefix = f"/repos/{REPO}"
        assert path.startswith(prefix) or path.startswith("/orgs/"), path
        rest = path[len(prefix):]
        m = re.fullmatch
        if verb == "GET":
            if rest == "/milestones":
                return {}, [dict(x) for x in self.milestones.values() if p.get("state") == "all" or x["state"] == p.get("state", "open")]
            if mm := m(r"/milestones/(\d+)", rest):
                if int(mm[1]) not in self.milestones:
                    raise GithubException(404, {"message": "Not Found"}, {})
                return {}, dict(self.milestones[int(mm[1])])
            if rest == "/issues":
                out = []
                for issue in sorted(self.issues.values(), key=lambda i: -i["number"]):
                    if "milestone" in p and issue["milestone_number"] != int(p["milestone"]):
                        continue
                    if p.get("state", "open") != "all" and issue["state"] != p.get("state", "open"):
                        continue
                    if "creator" in p and issue["user"]["login"] != p["creator"]:
                        continue
                    if "labels" in p and p["labels"] not in {lbl["name"] for lbl in issue["labels"]}:
                        continue
                    if "since" in p and issue["created_at"] < p["since"]:
                        continue
                    out.append(self._issue_json(issue))
                return {}, out
            if mm := m(r"/issues/(\d+)", rest):
                if int(mm[1]) not in self.issues:
                    raise GithubException(404, {"message": "Not Found"}, {})
                return {}, self._issue_json(self.issues[int(mm[1])])
            if mm := m(r"/issues/comments/(\d+)", rest):
                if int(mm[1]) not in self.comments:
                    raise GithubException(404, {"message": "Not Found"}, {})
                return {}, dict(self.comments[int(mm[1])])
            if mm := m(r"/issues/(\d+)/comments", rest):
                since = p.get("since")
                return {}, [dict(c) for c in self.comments_on(int(mm[1]))
                            if since is None or c.get("updated_at", "") >= since]
            if rest == "/git/matching-refs/tags":
                return {}, [{"ref": f"refs/tags/{t}", "object": {"sha": "a" * 40}} for t in self.tags]
            if mm := m(r"/git/matching-refs/heads/?(.*)", rest):
                return {}, [{"ref": f"refs/heads/{b}", "object": {"sha": "b" * 40}} for b in self.branches if b.startswith(mm[1])]
            if rest == "/releases":
                return {}, list(self.releases)
            if rest == "/deployments":
                return {}, [d for d in self.deployments if d["ref"] == p.get("ref") and d["environment"] == p.get("environment")]
            if mm := m(r"/deployments/(\d+)/statuses", rest):
                return {}, [{"state": d["status"]} for d in self.deployments if d["id"] == int(mm[1])]
            if mm := m(r"/collaborators/([^/]+)/permission", rest):
                level = self.permissions.get(mm[1])
                if level is None:
                    raise GithubException(404, {"message": "Not Found"}, {})
                return {}, {"permission": level, "user": {"login": mm[1], "permissions": PERMS[level]}}
            if rest == "/pulls":
                return {}, [{"number": n} for n, b in self.pull_bases.items()
                            if b == p.get("base") and self.issues[n]["state"] == "open"]
            if rest == "/labels":
                return {}, [{"name": n} for n in self.labels]
            if rest == "":
                return {}, {"default_branch": "main"}
            if rest == "/commits/HEAD":
                return {}, {"sha": "c" * 40}
            if mm := m(r"/check-runs/(\d+)", rest):
                if int(mm[1]) not in self.check_runs:
                    raise GithubException(404, {"message": "Not Found"}, {})
                return {}, dict(self.check_runs[int(mm[1])])
        else:
            body = input or {}
            if verb == "POST" and rest == "/issues":
                number = next(self._numbers)
                self.issues[number] = {
                    "number": number, "title": body["title"], "body": body.get("body", ""), "state": "open",
                    "user": {"login": BOT, "type": "Bot"}, "labels": [{"name": n} for n in body.get("labels", [])],
                    "milestone_number": body.get("milestone"), "created_at": "2026-11-26T00:00:00Z",
                    "pull_request": None, "state_reason": None,
                }
                return {}, self._issue_json(self.issues[number])
            if verb == "PATCH" and (mm := m(r"/issues/(\d+)", rest)):
                issue = self.issues[int(mm[1])]
                for key, value in body.items():
                    if key == "milestone":
                        issue["milestone_number"] = value
                    else:
                        issue[key] = value
                return {}, self._issue_json(issue)
            if verb == "POST" and (mm := m(r"/issues/(\d+)/labels", rest)):
                issue = self.issues[int(mm[1])]
                issue["labels"] += [{"name": n} for n in body["labels"]]
                return {}, issue["labels"]
            if verb == "POST" and (mm := m(r"/issues/(\d+)/comments", rest)):
                cid = next(self._ids)
                now = self.stamp()
                self.comments[cid] = {"id": cid, "issue": int(mm[1]), "body": body["body"], "user": {"login": BOT, "type": "Bot"},
                                      "created_at": now, "updated_at": now}
                return {}, dict(self.comments[cid])
            if verb == "PATCH" and (mm := m(r"/issues/comments/(\d+)", rest)):
                self.edit_comment(int(mm[1]), body["body"])
                return {}, dict(self.comments[int(mm[1])])
            if verb == "POST" and (mm := m(r"/issues/comments/(\d+)/reactions", rest)):
                self.reactions.append((int(mm[1]), body["content"], BOT))
                return {}, {"content": body["content"]}
            if verb == "POST" and rest == "/check-runs":
                run_id = next(self._ids)
                self.check_runs[run_id] = {"id": run_id, "app": {"id": 1, "slug": "release-bot"}, "name": body["name"],
                                           "head_sha": body["head_sha"], "external_id": body.get("external_id", ""),
                                           "status": body.get("status"), "conclusion": body.get("conclusion"),
                                           "output": dict(body.get("output") or {})}
                return {}, dict(self.check_runs[run_id])
            if verb == "PATCH" and (mm := m(r"/check-runs/(\d+)", rest)):
                run = self.check_runs[int(mm[1])]
                run.update({k: v for k, v in body.items() if k in ("status", "conclusion", "output", "external_id")})
                return {}, dict(run)
            if verb == "POST" and rest == "/labels":
                self.labels.append(body["name"])
                return {}, body
        raise AssertionError(f"fake GitHub has no route for {verb} {path}")
