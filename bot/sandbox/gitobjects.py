"""Git objects and graph queries for the sandbox: commit ids, trees, ancestry and compare.

Shas are computed the way git computes them (``sha1("<type> <len>\\0" + body)``) over a flat
snapshot, so identical content gives identical blob shas and distinct commits distinct ids.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable
from functools import lru_cache

from bot.sandbox.state import Commit, GitPerson, Repo


def _object_sha(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


@lru_cache(maxsize=1 << 16)
def blob_sha(content: bytes) -> str:
    # Memoized: every tree hash rehashes all its files, and most files carry over between commits.
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


def generation(repo: Repo, sha: str) -> int:
    """1 + the highest generation of the parents (a root is 1; an unknown sha 0), memoized per repository.

    A commit's generation is larger than any of its ancestors', which lets the walks below process
    commits children-first and stop as soon as the answer is known (git's commit-graph idea)."""
    gens = repo.generations
    known = gens.get(sha)
    if known is not None:
        return known
    if sha not in repo.commits:
        return 0
    stack = [sha]
    while stack:
        cur = stack[-1]
        if cur in gens:
            stack.pop()
            continue
        missing = [p for p in repo.commits[cur].parents if p not in gens and p in repo.commits]
        if missing:
            stack.extend(missing)
            continue
        gens[cur] = 1 + max((gens.get(p, 0) for p in repo.commits[cur].parents), default=0)
        stack.pop()
    return gens[sha]


def resolve(repo: Repo, name: str) -> str | None:
    """A commit sha for a branch, tag, full ref, ``HEAD`` or (abbreviated) sha; None if unknown."""
    if name == "HEAD":
        name = repo.default_branch
    for candidate in (name, f"refs/heads/{name}", f"refs/tags/{name}"):
        if candidate.startswith("refs/") and candidate in repo.refs:
            return peel(repo, repo.refs[candidate])
    if name in repo.commits:
        return name
    if name in repo.tags:
        return peel(repo, name)
    if 7 <= len(name) < 40 and all(ch in "0123456789abcdef" for ch in name.lower()):
        hits = [s for s in repo.commits if s.startswith(name.lower())]
        if len(hits) == 1:
            return hits[0]
    return None


def ancestors(repo: Repo, sha: str) -> set[str]:
    """All commits reachable from ``sha``, itself included (the whole history: use sparingly)."""
    return _reachable(repo, [sha])


def is_ancestor(repo: Repo, maybe_ancestor: str, of: str) -> bool:
    """Whether ``maybe_ancestor`` is reachable from ``of``; walks only commits newer than the candidate."""
    if maybe_ancestor not in repo.commits or of not in repo.commits:
        return False
    floor = generation(repo, maybe_ancestor)
    seen: set[str] = set()
    todo = [of]
    while todo:
        cur = todo.pop()
        if cur == maybe_ancestor:
            return True
        if cur in seen or cur not in repo.commits or generation(repo, cur) <= floor:
            continue
        seen.add(cur)
        todo.extend(repo.commits[cur].parents)
    return False


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


# Paint flags of the two-sided walks: reachable from the first side, from the second, and (merge
# base) below a common ancestor already found.
_ONE, _TWO, _STALE = 1, 2, 4


def _paint(repo: Repo, one: str | None, two: str | None, *, stop_flag: int,
           on_pop: Callable[[str, int], int]) -> dict[str, int]:
    """Walk from ``one`` and ``two`` together, newest generation first, propagating flags to parents.

    ``on_pop(sha, flags)`` sees each commit once with its final flags and returns extra flags for its
    parents. The walk ends when every queued commit carries ``stop_flag`` (nothing more to learn),
    so its cost is the size of the part of the graph that differs, not of the whole history."""
    flags: dict[str, int] = {}
    heap: list[tuple[int, str]] = []
    queued: set[str] = set()
    live = 0  # queued commits without stop_flag

    def mark(sha: str, add: int) -> None:
        nonlocal live
        if sha not in repo.commits:
            return
        old = flags.get(sha, 0)
        new = old | add
        if new == old:
            return
        flags[sha] = new
        if sha in queued:
            if not old & stop_flag and new & stop_flag:
                live -= 1
            return
        queued.add(sha)
        heapq.heappush(heap, (-generation(repo, sha), sha))
        if not new & stop_flag:
            live += 1

    if one is not None:
        mark(one, _ONE)
    if two is not None:
        mark(two, _TWO)
    while heap and live > 0:
        _, cur = heapq.heappop(heap)
        queued.discard(cur)
        f = flags[cur]
        if not f & stop_flag:
            live -= 1
        extra = on_pop(cur, f)
        for parent in repo.commits[cur].parents:
            mark(parent, f | extra)
    return flags


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """A best common ancestor: a common ancestor that no other common ancestor descends from
    (the newest by committer date when there are several)."""
    if a not in repo.commits or b not in repo.commits:
        return None
    best: list[str] = []

    def on_pop(sha: str, f: int) -> int:
        if f & (_ONE | _TWO) == (_ONE | _TWO) and not f & _STALE:
            best.append(sha)
            return _STALE
        return 0

    _paint(repo, a, b, stop_flag=_STALE, on_pop=on_pop)
    if not best:
        return None
    return max(best, key=lambda s: (repo.commits[s].committer.date, s))


def commits_between(repo: Repo, base: str | None, head: str) -> list[str]:
    """Commits reachable from ``head`` but not from ``base``, oldest first (as compare lists them)."""
    found: list[str] = []

    def on_pop(sha: str, f: int) -> int:
        if f == _ONE:
            found.append(sha)
        return 0

    _paint(repo, head, base, stop_flag=_TWO, on_pop=on_pop)
    # Oldest first; generations counted within the listed commits keep parents before children
    # within one second (``found`` reversed is parents-first: the walk pops children first).
    chosen = set(found)
    local: dict[str, int] = {}
    for sha in reversed(found):
        local[sha] = 1 + max((local[p] for p in repo.commits[sha].parents if p in chosen), default=0)
    return sorted(found, key=lambda s: (repo.commits[s].committer.date, local[s], s))


def history(repo: Repo, head: str) -> list[str]:
    """``git log`` order from ``head``: newest first, children always before their parents."""
    reach = ancestors(repo, head)
    return sorted(reach, key=lambda s: (repo.commits[s].committer.date, generation(repo, s), s), reverse=True)


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
