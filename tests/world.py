"""A small builder for the GitHub world a test needs, on the in-process sandbox.

The sandbox (``bot.sandbox``) is the one GitHub fake of the test suite: it answers real REST calls
the way github.com does (docs/sandbox-contract.md). ``tests/conftest.py`` starts one per test session;
a test asks the ``sandbox_world`` fixture for fresh repositories and fills them in here, as the
people seeded in the sandbox (``admin``, ``releaser``, ``qa``, ``dev``, ``triager``, ``outsider``,
``pm``) would, so every fact the bot later reads was made through GitHub's own API.

Each test gets repositories of its own (unique names), so tests never see each other's objects in
the shared sandbox. Every ``httpx`` client made here is closed when the test ends.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterable
from typing import Any

import httpx

from bot.sandbox.server import SandboxHandle

BOT = "release-bot[bot]"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test of this session uses (the sandbox lives for the whole session)."""
    return f"{prefix}{next(_names)}"


def ok(response: httpx.Response) -> Any:
    """The JSON of a successful response; a failed one fails the test with what was asked."""
    assert response.status_code < 300, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


class SandboxLog:
    """Reads the sandbox's request log from a cursor (the log only grows, so reads stay short)."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self._cursor = 0
        self._http = httpx.Client(base_url=handle.base_url, timeout=10)

    def seq(self) -> int:
        """The sandbox's latest request number."""
        log = self._http.get("/_sandbox/requests", params={"since": self._cursor}).json()
        if log:
            self._cursor = log[-1]["seq"]
        return self._cursor

    def since(self, seq: int, actor: str | None = None) -> list[dict[str, Any]]:
        """Requests made after ``seq`` (by ``actor`` only, if given)."""
        log = self._http.get("/_sandbox/requests", params={"since": seq}).json()
        return [r for r in log if actor is None or r["actor"] == actor]

    def close(self) -> None:
        self._http.close()


class World:
    """The clients of one test: per person, and the sandbox's own admin API. Closed at teardown."""

    def __init__(self, handle: SandboxHandle, log: SandboxLog) -> None:
        self.handle = handle
        self.log = log
        self._clients: dict[str, httpx.Client] = {}
        self.admin_api = httpx.Client(base_url=f"{handle.base_url}/_sandbox", timeout=10)

    def as_(self, login: str) -> httpx.Client:
        """A REST client authenticated as ``login`` (a sandbox user token)."""
        client = self._clients.get(login)
        if client is None:
            client = httpx.Client(
                base_url=self.handle.api_url,
                headers={"Authorization": f"token sandbox-token-{login}"},
                timeout=10,
            )
            self._clients[login] = client
        return client

    def user(self, login: str, permission: str | None = None, teams: Iterable[str] = ()) -> str:
        """A new sandbox user (``permission`` applies to the seeded ``acme/rocket``)."""
        body: dict[str, Any] = {"login": login, "teams": list(teams)}
        if permission is not None:
            body["permission"] = permission
        ok(self.admin_api.post("/users", json=body))
        return login

    def repo(
        self,
        name: str | None = None,
        owner: str = "acme",
        permissions: dict[str, str] | None = None,
        private: bool = False,
    ) -> Repo:
        """A fresh repository (one commit on ``main``) with the seeded people's permissions."""
        name = name or unique("repo")
        body: dict[str, Any] = {"owner": owner, "name": name, "private": private}
        if permissions is not None:
            body["permissions"] = permissions
        ok(self.admin_api.post("/repos", json=body))
        return Repo(self, f"{owner}/{name}")

    def installation_id(self, full_name: str, app_id: int = 1) -> int:
        """The id of the App's installation that covers ``owner/name`` (read from the sandbox)."""
        st = self.handle.state
        owner, name = full_name.split("/", 1)
        with st.lock:
            installation = st.app_installation_for(app_id, st.repo(owner, name))
            assert installation is not None, f"the App is not installed on {full_name}"
            return installation.id

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self.admin_api.close()


class Repo:
    """One repository of a test's world, built through the REST API as its people would."""

    def __init__(self, world: World, full_name: str) -> None:
        self.world = world
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        data = ok(world.as_("admin").get(f"/repos/{full_name}"))
        self.id: int = data["id"]
        self.default_branch: str = data["default_branch"]

    def api(self, login: str = "admin") -> httpx.Client:
        return self.world.as_(login)

    def path(self, rest: str = "") -> str:
        return f"/repos/{self.full_name}{rest}"

    # ----------------------------------------------------------------- git

    def head(self, branch: str) -> str:
        return ok(self.api().get(self.path(f"/git/ref/heads/{branch}")))["object"]["sha"]

    def branch(self, name: str, from_: str | None = None, login: str = "admin") -> str:
        """Create branch ``name`` at the tip of ``from_`` (the default branch); returns its sha."""
        sha = self.head(from_ or self.default_branch)
        ok(self.api(login).post(self.path("/git/refs"), json={"ref": f"refs/heads/{name}", "sha": sha}))
        return sha

    def push_refs(self, refs: dict[str, str | None], pusher: str = "admin") -> None:
        """Move several branches or tags in one push (``{"release/1.4": sha}``; None deletes), as
        ``git push`` does and the REST API cannot (the sandbox's admin API)."""
        full = {ref if ref.startswith("refs/") else f"refs/heads/{ref}": sha for ref, sha in refs.items()}
        ok(self.world.admin_api.post(f"/repos/{self.full_name}/push", json={"refs": full, "pusher": pusher}))

    def commit(
        self,
        branch: str,
        login: str = "admin",
        path: str | None = None,
        content: str | None = None,
        message: str | None = None,
    ) -> str:
        """One commit on ``branch`` through the contents API (a new file unless ``path`` is given)."""
        n = next(_names)
        path_given = path is not None
        path = path or f"file{n}.txt"
        body: dict[str, Any] = {
            "message": message or f"change {n}",
            "content": base64.b64encode((content if content is not None else f"{n}\n").encode()).decode(),
            "branch": branch,
        }
        if path_given:  # replacing a file needs its blob sha; a fresh name needs no read
            existing = self.api(login).get(self.path(f"/contents/{path}"), params={"ref": branch})
            if existing.status_code == 200 and isinstance(existing.json(), dict):
                body["sha"] = existing.json()["sha"]
        return ok(self.api(login).put(self.path(f"/contents/{path}"), json=body))["commit"]["sha"]

    def file(self, path: str, content: str, branch: str | None = None, login: str = "admin") -> str:
        """Write ``path`` (create or replace) on ``branch``; returns the commit's sha."""
        return self.commit(
            branch or self.default_branch, login, path=path, content=content, message=f"Write {path}"
        )

    # ----------------------------------------------------------------- issues side

    def milestone(self, title: str, login: str = "admin", **fields: Any) -> int:
        return ok(self.api(login).post(self.path("/milestones"), json={"title": title, **fields}))["number"]

    def label_kind(self, name: str, color: str = "ededed", login: str = "admin") -> None:
        ok(self.api(login).post(self.path("/labels"), json={"name": name, "color": color}))

    def issue(self, title: str, login: str = "admin", **fields: Any) -> int:
        return ok(self.api(login).post(self.path("/issues"), json={"title": title, **fields}))["number"]

    def pull(self, head: str, base: str, title: str = "Change", login: str = "dev", **fields: Any) -> int:
        body = {"title": title, "head": head, "base": base, **fields}
        return ok(self.api(login).post(self.path("/pulls"), json=body))["number"]

    def set_milestone(self, number: int, milestone: int | None, login: str = "admin") -> None:
        ok(self.api(login).patch(self.path(f"/issues/{number}"), json={"milestone": milestone}))

    def label(self, number: int, login: str, *labels: str) -> None:
        ok(self.api(login).post(self.path(f"/issues/{number}/labels"), json={"labels": list(labels)}))

    def comment(self, number: int, login: str, body: str) -> int:
        return ok(self.api(login).post(self.path(f"/issues/{number}/comments"), json={"body": body}))["id"]

    # ----------------------------------------------------------------- reads

    def get(self, rest: str, login: str = "admin", **params: Any) -> Any:
        return ok(self.api(login).get(self.path(rest), params=params or None))

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.get(f"/issues/{number}/comments", per_page=100)

    def labels(self, number: int) -> set[str]:
        return {label["name"] for label in self.get(f"/issues/{number}")["labels"]}
