"""Git objects and graph queries for the sandbox: commit ids, trees, ancestry and compare.

Shas are computed the way git computes them (``sha1("<type> <len>\\0" + body)``) over a flat
snapshot, so identical content gives identical blob shas and distinct commits distinct ids.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable

from bot.sandbox.state import Commit, GitPerson, Repo


def _object_sha(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def blob_sha(content: bytes) -> str:
    return _object_sha("blob", content)


def tree_sha(tree: dict[str, bytes]) -> str:
    # A flat, deterministic stand-in for git's nested trees: enough for equality of snapshots.
    body = b"".join(f"100644 {path}\0{blob_sha(data)}\n".encode() for path, data in sorted(tree.items()))
    return _object_sha("tree", body)


def _person_line(role: str, p: GitPerson) -> str:
    return f"{role} {p.name} <{p.email}> {int(p.date.timestamp())} +0000"


def make_commit(tree: dict[str, bytes], parents: list[str], message: str, author: GitPerson,
                committer: GitPerson) -> Commit:
    lines = [f"tree {tree_sha(tree)}"] + [f"parent {p}" for p in parents]
    lines += [_person_line("author", author), _person_line("committer", committer), "", message]
    sha = _object_sha("commit", "\n".join(lines).encode())
    return Commit(sha=sha, tree=dict(tree), parents=list(parents), message=message, author=author,
                  committer=committer)


def peel(repo: Repo, sha: str) -> str:
    """The commit an object id points at (annotated tags are followed)."""
    seen = 0
    while sha in repo.tags and seen < 10:
        sha = repo.tags[sha].object_sha
        seen += 1
    return sha


def ancestors(repo: Repo, sha: str) -> set[str]:
    """All commits reachable from ``sha``, itself included."""
    out: set[str] = set()
    todo = [sha]
    while todo:
        cur = todo.pop()
        if cur in out or cur not in repo.commits:
            continue
        out.add(cur)
        todo.extend(repo.commits[cur].parents)
    return out


def is_ancestor(repo: Repo, maybe_ancestor: str, of: str) -> bool:
    return maybe_ancestor in ancestors(repo, of)


def _reachable(repo: Repo, starts: Iterable[str]) -> set[str]:
    out: set[str] = set()
    todo = list(starts)
    while todo:
        cur = todo.pop()
        if cur in out or cur not in repo.commits:
            continue
        out.add(cur)
        todo.extend(repo.commits[cur].parents)
    return out


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """A best common ancestor: a common ancestor that no other common ancestor descends from."""
    common = ancestors(repo, a) & ancestors(repo, b)
    if not common:
        return None
    dominated = _reachable(repo, (p for c in common for p in repo.commits[c].parents))
    best = common - dominated
    return max(best, key=lambda s: (repo.commits[s].committer.date, s))


def commits_between(repo: Repo, base: str, head: str) -> list[str]:
    """Commits reachable from ``head`` but not from ``base``, oldest first (as compare lists them)."""
    excluded = ancestors(repo, base)
    found: list[str] = []
    seen: set[str] = set()
    queue = deque([head])
    while queue:
        cur = queue.popleft()
        if cur in seen or cur in excluded or cur not in repo.commits:
            continue
        seen.add(cur)
        found.append(cur)
        queue.extend(repo.commits[cur].parents)
    # Oldest first; generation numbers keep parents before children within one second.
    chosen = set(found)
    gen: dict[str, int] = {}
    for sha in _topo_oldest_first(repo, chosen):
        gen[sha] = 1 + max((gen[p] for p in repo.commits[sha].parents if p in chosen), default=0)
    return sorted(found, key=lambda s: (repo.commits[s].committer.date, gen[s], s))


def history(repo: Repo, head: str) -> list[str]:
    """``git log`` order from ``head``: newest first, children always before their parents."""
    reach = ancestors(repo, head)
    gen: dict[str, int] = {}
    for sha in _topo_oldest_first(repo, reach):
        parents = [p for p in repo.commits[sha].parents if p in reach]
        gen[sha] = 1 + max((gen[p] for p in parents), default=0)
    return sorted(reach, key=lambda s: (repo.commits[s].committer.date, gen[s], s), reverse=True)


def _topo_oldest_first(repo: Repo, shas: set[str]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for root in shas:
        stack = [(root, False)]
        while stack:
            cur, done = stack.pop()
            if done:
                state[cur] = 2
                order.append(cur)
                continue
            if state.get(cur):
                continue
            state[cur] = 1
            stack.append((cur, True))
            stack.extend((p, False) for p in repo.commits[cur].parents if p in shas and not state.get(p))
    return order


def diff_trees(old: dict[str, bytes], new: dict[str, bytes]) -> tuple[list[str], list[str], list[str]]:
    """(added, removed, modified) paths between two snapshots."""
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    modified = sorted(p for p in new if p in old and old[p] != new[p])
    return added, removed, modified


def three_way_merge(base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes]
                    ) -> dict[str, bytes] | None:
    """File-level three-way merge; None when both sides changed the same file differently."""
    out: dict[str, bytes] = {}
    for path in set(base) | set(ours) | set(theirs):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t:
            merged = o
        elif o == b:
            merged = t
        elif t == b:
            merged = o
        else:
            return None
        if merged is not None:
            out[path] = merged
    return out
