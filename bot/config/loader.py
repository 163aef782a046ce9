"""Loading a repository's effective configuration through the GitHub contents API.

Sources, read from default branches only (a pull request cannot widen who may approve):
1. ``{owner}/{repo}:.github/release-bot.yml``, else the organization's ``{owner}/.github`` at the
   same path; ``_extends`` chains (``repo``, ``owner/repo``, ``repo:path.yml``) are followed, the
   extending file deep-merged over the extended one, loops refused;
2. GitHub's ``.github/release.yml`` and release-drafter's ``.github/release-drafter.yml``, raw, for the
   notes renderer (``config["_sources"]``).

An invalid file never fails the job: the error (with its line) goes to ``LoadedConfig.error`` and
the last valid configuration, kept in the store, stays in effect; with none, the defaults are used
and ``valid`` is False so the merge gate fails closed.

Caching: effective configurations live in a TTL cache. A push touching a source invalidates every
entry that read from that repository (``invalidate_source``), here and — through a timestamp in the
shared store — in every other process (web server and workers share the store).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from bot.config.defaults import default_config
from bot.config.merge import deep_merge
from bot.config.validate import ConfigError, ConfigProblem, parse_yaml, validate_config
from bot.github import config_io
from bot.github.client import GitHubClient
from bot.store import KeyValueStore

log = logging.getLogger(__name__)

CONFIG_PATH = ".github/release-bot.yml"
RELEASE_YML_PATH = ".github/release.yml"
RELEASE_DRAFTER_PATH = ".github/release-drafter.yml"
CONFIG_SOURCE_PATHS = frozenset({CONFIG_PATH, RELEASE_YML_PATH, RELEASE_DRAFTER_PATH})
ORG_CONFIG_REPO = ".github"
MAX_EXTENDS_DEPTH = 10
DEFAULT_TTL_SECONDS = 300.0


@dataclass
class LoadedConfig:
    config: dict[str, Any]  # effective: defaults + sources, plus "_sources"
    error: str | None = None  # the current file's problems (line-numbered); None when it is valid
    valid: bool = True  # False: no valid configuration ever seen, defaults in use (gate fails closed)
    sources: list[str] = field(default_factory=list)  # "owner/repo:path" read, in merge order
    depends_on: frozenset[str] = frozenset()  # repositories ("owner/repo", lowercase) whose pushes matter
    loaded_at: float = 0.0


@dataclass(frozen=True)
class Dependent:
    repo_full_name: str  # lowercase
    repo_id: int
    installation_id: int | None


def _lower(full_name: str) -> str:
    return full_name.lower()


class ConfigLoader:
    """Thread-safe loader with a TTL cache; one per process (held by ``Services``)."""

    def __init__(
        self,
        store: KeyValueStore | None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        maxsize: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: TTLCache[str, LoadedConfig] = TTLCache(maxsize=maxsize, ttl=ttl_seconds)

    # --- public ---------------------------------------------------------------------------------

    def load(
        self,
        gh: GitHubClient,
        repo_full_name: str,
        repo_id: int | None = None,
        installation_id: int | None = None,
    ) -> LoadedConfig:
        """The effective configuration of one repository. ``repo_id``/``installation_id`` let a
        later push to another source repository (org ``.github``, an ``_extends`` target) find
        this repository again (``dependents``), across processes."""
        key = _lower(repo_full_name)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and not self._invalidated_elsewhere(cached):
            return _copy(cached)
        loaded = self._load_uncached(gh, repo_full_name)
        with self._lock:
            self._cache[key] = loaded
        if repo_id is not None:
            self._index_dependent(loaded, repo_full_name, repo_id, installation_id)
        return _copy(loaded)

    def dependents(self, source_repo: str) -> list[Dependent]:
        """Repositories whose configuration read from ``source_repo`` (other than itself), as
        recorded in the store by any process."""
        if self._store is None:
            return []
        raw = self._store.get_state(f"config:dependents:{_lower(source_repo)}") or {}
        return [
            Dependent(name, int(v["repo_id"]), v.get("installation_id"))
            for name, v in sorted(raw.items())
            if isinstance(v, dict) and "repo_id" in v
        ]

    def _index_dependent(
        self, loaded: LoadedConfig, repo_full_name: str, repo_id: int, installation_id: int | None
    ) -> None:
        if self._store is None:
            return
        me = _lower(repo_full_name)
        entry = {"repo_id": repo_id, "installation_id": installation_id}
        for source in loaded.depends_on - {me}:
            name = f"config:dependents:{source}"
            current = self._store.get_state(name) or {}
            if current.get(me) != entry:
                current = dict(current)
                current[me] = entry
                self._store.set_state(name, current)

    def invalidate(self, repo_full_name: str) -> None:
        with self._lock:
            self._cache.pop(_lower(repo_full_name), None)

    def invalidate_source(self, source_repo: str) -> list[str]:
        """Drop every cached configuration that read from ``source_repo`` (a push touched it).
        Returns the repositories whose configuration was dropped in this process."""
        source = _lower(source_repo)
        with self._lock:
            dropped = [
                name for name, entry in self._cache.items() if source in entry.depends_on or name == source
            ]
            for name in dropped:
                self._cache.pop(name, None)
        if self._store is not None:
            self._store.set_state(f"config:changed:{source}", self._clock())
        return dropped

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- loading --------------------------------------------------------------------------------

    def _invalidated_elsewhere(self, entry: LoadedConfig) -> bool:
        if self._store is None:
            return False
        for source in entry.depends_on:
            changed = self._store.get_state(f"config:changed:{source}")
            if isinstance(changed, (int, float)) and changed >= entry.loaded_at:
                return True
        return False

    def _load_uncached(self, gh: GitHubClient, repo_full_name: str) -> LoadedConfig:
        owner = repo_full_name.split("/", 1)[0]
        loaded_at = self._clock()
        depends = {_lower(repo_full_name), _lower(f"{owner}/{ORG_CONFIG_REPO}")}
        sources: list[str] = []
        error: str | None = None
        own: dict[str, Any] | None = None
        # One listing of `.github/` says which of the repository's three sources exist, so a
        # repository with only release-bot.yml costs 2 reads instead of 4 (the release reconcile's
        # read budget includes the first load of a cold process).
        present = self._github_dir_files(gh, repo_full_name)
        try:
            own, chain = self._read_chain(gh, repo_full_name, owner, depends, present)
            sources.extend(chain)
        except ConfigError as exc:
            error = exc.render()
            log.warning("configuration of %s is invalid:\n%s", repo_full_name, error)

        notes_sources = {
            "release_yml": self._read_raw_yaml(gh, repo_full_name, RELEASE_YML_PATH, present),
            "release_drafter_yml": self._read_raw_yaml(gh, repo_full_name, RELEASE_DRAFTER_PATH, present),
        }
        state_key = f"config:last_valid:{_lower(repo_full_name)}"
        valid = True
        if error is None:
            effective = deep_merge(default_config(), own or {})
            self._remember(state_key, effective, sources)
        else:
            remembered = self._store.get_state(state_key) if self._store is not None else None
            if isinstance(remembered, dict) and isinstance(remembered.get("config"), dict):
                # Re-merged over today's defaults so a key added in a bot upgrade still has a value.
                effective = deep_merge(default_config(), remembered["config"])
                sources = list(remembered.get("sources") or [])
                log.warning(
                    "%s: keeping the last valid configuration (%s)", repo_full_name, ", ".join(sources)
                )
            else:
                effective = default_config()
                valid = False
                log.warning(
                    "%s: no valid configuration was ever seen; defaults in use, gate fails closed",
                    repo_full_name,
                )
        effective["_sources"] = notes_sources
        return LoadedConfig(effective, error, valid, sources, frozenset(depends), loaded_at)

    def _remember(self, state_key: str, effective: dict[str, Any], sources: list[str]) -> None:
        if self._store is None:
            return
        value = {"config": effective, "sources": sources}
        if self._store.get_state(state_key) != value:  # write only on change: one job, one read
            self._store.set_state(state_key, value)

    def _read_chain(
        self,
        gh: GitHubClient,
        repo_full_name: str,
        owner: str,
        depends: set[str],
        present: frozenset[str] | None,
    ) -> tuple[dict[str, Any], list[str]]:
        """The repository's own file (or the org fallback) with its ``_extends`` chain merged."""
        text = self._read_file(gh, repo_full_name, CONFIG_PATH, present)
        where = f"{repo_full_name}:{CONFIG_PATH}"
        if text is None:
            org_repo = f"{owner}/{ORG_CONFIG_REPO}"
            if _lower(org_repo) == _lower(repo_full_name):
                return {}, []
            text = self._read_file(gh, org_repo, CONFIG_PATH)
            where = f"{org_repo}:{CONFIG_PATH}"
            if text is None:
                return {}, []
        visited: list[str] = []
        layers: list[dict[str, Any]] = []
        while True:
            if _lower(where) in map(_lower, visited):
                chain = " -> ".join([*visited, where])
                raise ConfigError([ConfigProblem(f"_extends loop: {chain}", ("_extends",))], visited[-1])
            if len(visited) >= MAX_EXTENDS_DEPTH:
                raise ConfigError(
                    [ConfigProblem(f"_extends chain longer than {MAX_EXTENDS_DEPTH} files", ("_extends",))],
                    visited[-1],
                )
            visited.append(where)
            data = _parse_and_validate(text, where)
            layers.append(data)
            target = data.get("_extends")
            if not target:
                break
            current_owner = where.split("/", 1)[0]
            target_repo, target_path = parse_extends(target, current_owner)
            if _lower(target_repo.split("/", 1)[0]) != _lower(owner):
                # Another account's repository is outside this installation (and a public one is
                # readable by anyone's token): who may approve must not come from someone else's file.
                raise ConfigError(
                    [
                        ConfigProblem(
                            f"_extends may only name a repository of `{owner}`, not `{target_repo}`",
                            ("_extends",),
                        )
                    ],
                    where,
                )
            depends.add(_lower(target_repo))
            next_where = f"{target_repo}:{target_path}"
            text = self._read_file(gh, target_repo, target_path)
            if text is None:
                raise ConfigError(
                    [
                        ConfigProblem(
                            f"_extends target {next_where} does not exist (or is not readable)", ("_extends",)
                        )
                    ],
                    where,
                )
            where = next_where
        merged: dict[str, Any] = {}
        for layer in reversed(layers):  # the extended file first, the extending one over it
            merged = deep_merge(merged, {k: v for k, v in layer.items() if k != "_extends"})
        return merged, visited

    def _read_raw_yaml(
        self, gh: GitHubClient, repo_full_name: str, path: str, present: frozenset[str] | None
    ) -> dict[str, Any] | None:
        text = self._read_file(gh, repo_full_name, path, present)
        if text is None:
            return None
        try:
            data, _node = parse_yaml(text)  # the same guards as our own file: size, alias bombs
        except ConfigError as exc:
            log.warning(
                "%s:%s is not usable YAML (%s); ignored", repo_full_name, path, exc.problems[0].message
            )
            return None
        return data if isinstance(data, dict) else None

    def _github_dir_files(self, gh: GitHubClient, repo_full_name: str) -> frozenset[str] | None:
        """Paths of the files directly in the repository's ``.github/`` on the default branch
        (empty when there is no such folder); None when the listing is not usable, and then every
        source is read (and may 404) as before."""
        return config_io.list_folder_files(gh, repo_full_name, ".github")

    def _read_file(
        self, gh: GitHubClient, repo_full_name: str, path: str, present: frozenset[str] | None = None
    ) -> str | None:
        """The file's text on the default branch (the contents API's default ``ref``), None if absent.
        ``present``: the files known to exist in the repository's ``.github/`` (see above)."""
        if (
            present is not None
            and path.startswith(".github/")
            and path.count("/") == 1
            and path not in present
        ):
            return None
        read = config_io.read_text_file(gh, repo_full_name, path)
        if read.problem is not None:
            raise ConfigError([ConfigProblem(read.problem)], f"{repo_full_name}:{path}")
        return read.text


def parse_extends(value: str, current_owner: str) -> tuple[str, str]:
    """``repo`` | ``owner/repo`` | ``repo:path.yml`` | ``owner/repo:path.yml`` -> (``owner/repo``, path)."""
    target, _, path = value.strip().partition(":")
    repo = target if "/" in target else f"{current_owner}/{target}"
    return repo, (path or CONFIG_PATH).lstrip("/")


def _parse_and_validate(text: str, where: str) -> dict[str, Any]:
    try:
        data, node = parse_yaml(text)
    except ConfigError as exc:
        raise ConfigError(exc.problems, where) from None
    problems = validate_config(data, node)
    if problems:
        raise ConfigError(problems, where)
    return data or {}


def _copy(entry: LoadedConfig) -> LoadedConfig:
    return LoadedConfig(
        copy.deepcopy(entry.config),
        entry.error,
        entry.valid,
        list(entry.sources),
        entry.depends_on,
        entry.loaded_at,
    )
