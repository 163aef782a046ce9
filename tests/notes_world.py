"""A repository for the release-notes tests, built on the sandbox through GitHub's REST API.

Pull requests are opened and merged for real (merge, squash or rebase, as GitHub writes them), tags
are refs on real commits, releases are made by people or by the bot; what the bot sent is seen on a
spy around the App client's requester (the sandbox's log has no bodies), and its requests are counted
in the sandbox's request log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from world import BOT, Repo, World, ok, unique

from bot.github.auth import GitHubApp


class Spied:
    """The App's installation client, recording each request with the JSON it sent."""

    def __init__(self, gh: Any) -> None:
        self._gh = gh
        self.sent: list[tuple[str, str, Any, Any]] = []  # (verb, url as the bot built it, query, JSON)
        real, sent = gh.requester, self.sent

        class Requester:
            base_url = real.base_url

            def requestJsonAndCheck(self, verb: str, url: str, parameters: Any = None,  # noqa: N802
                                    headers: Any = None, input: Any = None) -> Any:  # noqa: A002
                sent.append((verb, url, parameters, input))
                return real.requestJsonAndCheck(
                    verb, url, parameters=parameters, headers=headers, input=input
                )

        self.requester = Requester()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)

    def last_release_write(self) -> Any:
        """The JSON of the bot's latest POST/PATCH of a release."""
        return next(
            body
            for verb, url, _query, body in reversed(self.sent)
            if verb in ("POST", "PATCH") and "/releases" in url
        )


class NotesRepo:
    """One fresh repository: ``main`` with one commit, people seeded by the sandbox."""

    def __init__(self, builder: World, app: GitHubApp) -> None:
        self.builder = builder
        self.repo: Repo = builder.repo(unique("notes"))
        self.full = self.repo.full_name
        self.gh = Spied(app.client_for(1))
        self._cursor = builder.log.seq()

    # -- building --------------------------------------------------------------------------
    def api(self, login: str = "admin") -> Any:
        return self.repo.api(login)

    def path(self, rest: str) -> str:
        return self.repo.path(rest)

    def tag(self, name: str, on: str = "main") -> None:
        ok(
            self.api().post(
                self.path("/git/refs"), json={"ref": f"refs/tags/{name}", "sha": self.repo.head(on)}
            )
        )

    def commit(self, branch: str, message: str | None = None) -> str:
        return self.repo.commit(branch, "admin", message=message)

    def pull(
        self,
        title: str,
        *,
        base: str = "release/1.4",
        milestone: int | None = 1,
        merged: bool = True,
        labels: tuple[str, ...] = (),
        author: str = "dev",
        body: str = "",
        method: str = "merge",
        commits: int = 1,
        commit_title: str | None = None,
    ) -> int:
        topic = unique("topic")
        self.repo.branch(topic, from_=base, login=author)
        for _ in range(commits):
            self.repo.commit(topic, author)
        number = self.repo.pull(topic, base, title, login=author, body=body)
        if milestone is not None:
            self.repo.set_milestone(number, milestone)
        if labels:
            self.repo.label(number, "admin", *labels)
        if merged:
            merge: dict[str, Any] = {"merge_method": method}
            if commit_title is not None:
                merge["commit_title"] = commit_title
            ok(self.api().put(self.path(f"/pulls/{number}/merge"), json=merge))
        return number

    def close(self, number: int) -> None:
        ok(self.api().patch(self.path(f"/issues/{number}"), json={"state": "closed"}))

    def release(self, login: str = "releaser", **fields: Any) -> dict[str, Any]:
        return ok(self.api(login).post(self.path("/releases"), json=fields))

    def edit_release(self, release_id: int, **fields: Any) -> dict[str, Any]:
        return ok(self.api().patch(self.path(f"/releases/{release_id}"), json=fields))

    def remove_label(self, number: int, label: str) -> None:
        ok(self.api().delete(self.path(f"/issues/{number}/labels/{label}")))

    # -- reading ---------------------------------------------------------------------------
    def releases(self) -> list[dict[str, Any]]:
        return self.repo.get("/releases", per_page=100)

    def only_release(self) -> dict[str, Any]:
        (release,) = self.releases()
        return release

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.repo.comments(number)

    def bot_comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments(number) if c["user"]["login"] == BOT]

    def labels(self, number: int) -> set[str]:
        return self.repo.labels(number)

    def issue(self, number: int) -> dict[str, Any]:
        return self.repo.get(f"/issues/{number}")

    # -- the bot's requests ------------------------------------------------------------------
    def mark(self) -> None:
        """Count requests from now on (``reads``/``writes``)."""
        self._cursor = self.builder.log.seq()
        self.gh.sent.clear()

    def requests(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.builder.log.since(self._cursor, actor=BOT)]

    def reads(self) -> list[tuple[str, str]]:
        return [r for r in self.requests() if r[0] == "GET"]

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests() if r[0] != "GET"]

    def sent_where(self, test: Callable[[str, str], bool]) -> list[tuple[str, Any, Any]]:
        """(url, query, JSON) of the requests ``test(verb, url)`` selects, as the bot sent them."""
        return [(url, query, body) for verb, url, query, body in self.gh.sent if test(verb, url)]
