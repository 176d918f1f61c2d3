"""The optional per-dependent config file ``.catalog-ops.yml`` (schema version 1).

Schema (every key optional; documented in ``docs/rollout.md``)::

    version: 1                 # schema version; only 1 is known
    ignore: [modules/legacy]   # catalog module dirs (fnmatch globs) never bumped in this repo
    paths: ["live/**"]         # only files matching these globs are scanned (default: all)
    majors: true               # false: never propose updates across a major version
    raise_floor: false         # true: move a version constraint that already admits the new
                               # release up to it (`~> 6.0` -> `~> 6.6`); default: left alone
    automerge: security        # never | security | patch | minor (see AUTOMERGE_POLICIES)
    automerge_majors: false    # true: breaking (major) updates may be auto-merged too
    automerge_patched_majors: false  # true: breaking updates whose every breaking release a
                               # migration patch covers (applied in the PR) may be auto-merged
    reviewers: [alice, acme/platform-team]   # users, or teams as org/slug
    labels: [dependencies]
    base: main                 # base branch of the PRs (default: the repo's default branch)
    strategy: next-safe        # latest | next-safe (default: the catalog's rollout.strategy)
    min_release_age: 3d        # a normal release opens nothing until this old (default: catalog's)
    windows: [{days: [mon, tue, wed, thu], hours: "09:00-16:00", timezone: Europe/Berlin}]
    max_open_prs: 2            # most open catalog-ops rollout PRs in this repository
    environments:              # ordered environments by path globs: one PR per environment,
      dev: ["non-prod/*/dev/**"]   # a chain (docs/rollout.md "Environments")
      stage: ["non-prod/*/stage/**"]
      prod: ["prod/**"]
    soak: 24h                  # an environment runs a release this long before the next opens
    post_merge_checks: false   # true: the next opens only after the checks of the merge commit passed
    security_skip_soak: false  # true: security updates do not wait for the soak

The same file may hold other catalog-ops sections (``checks:``, ``release:``, ``sweep:``,
``dashboard:``, ``rollout:``); those belong to their commands and are not validated here.

Validation reads the YAML node tree (``yaml.compose``) so every error names the file, line and
column of the offending key or value: ``.catalog-ops.yml:3:12: key 'automerge': must be one of
never, security, patch, minor``. Unknown keys are errors, not ignored, so a typo cannot silently
change behaviour. Errors are raised as ``catalog_ops.errors.ConfigError``; the rollout records
them as that dependent's ``skipped`` outcome and carries on.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Sequence
from typing import Any

import yaml

from catalog_ops.core.glob import GlobError, check_pattern, glob_matches
from catalog_ops.core.schedule import Window, parse_windows, windows_from_json
from catalog_ops.core.versions import Level, Urgency
from catalog_ops.core.yamlnodes import compose_document, where
from catalog_ops.errors import ConfigError

CONFIG_PATH = ".catalog-ops.yml"
CONFIG_PATHS = (".catalog-ops.yml", ".catalog-ops.yaml", ".github/catalog-ops.yml")
AUTOMERGE_POLICIES = ("never", "security", "patch", "minor")
STRATEGIES = ("latest", "next-safe")
"""Rollout strategies (``rollout.pace``): the newest release, or the highest one before the
next breaking release (Gruntwork Patcher's "next safe")."""
MAX_CONFIG_BYTES = 64 * 1024
"""Largest ``.catalog-ops.yml`` read (bytes): a dependent's file bounds the work it causes."""
MAX_GLOBS = 100
"""Most entries in ``paths:`` or ``ignore:`` (each also within ``core.glob`` limits)."""
MAX_ENVIRONMENTS = 10
"""Most environments in ``environments:`` (each with at most ``MAX_GLOBS`` globs)."""
MAX_SOAK_SECONDS = 90 * 86400
"""Longest ``soak`` accepted (90 days)."""
ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
"""An environment name: letters, digits, ``.``, ``_``, ``-``, at most 40 characters (it is part
of a branch name, ``model.env_branch_name``)."""
_DURATION = re.compile(r"\s*(\d{1,7})\s*([smhdw]?)\s*\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DependentConfig:
    """A dependent's rollout preferences (defaults apply when the file is absent).

    Attributes:
        ignore: module dir globs never bumped (e.g. ``"modules/legacy-*"``).
        paths: path globs that are scanned; empty means every candidate file.
        majors: propose updates across a major version.
        raise_floor: a version constraint that already admits the target release is moved up
            to it anyway (``~> 6.0`` -> ``~> 6.6``); default False: such a constraint needs no PR
            (``rollout.behind``).
        automerge: ``never`` (no auto-merge), ``security`` (security releases only; default),
            ``patch`` (security releases, and patch updates of normal ones), ``minor`` (also
            minor updates).
        automerge_majors: allow auto-merge of breaking updates (majors, and releases whose
            metadata marks the module breaking) when the policy otherwise allows the merge.
        automerge_patched_majors: allow auto-merge of a breaking update whose every breaking
            release is covered by a migration patch of the catalog that applied everywhere
            (docs/migrations.md), unless ``automerge`` is ``never``; still only through the merge
            gate (checks ran on the PR head and passed).
        automerge_without_checks: merge automatically even when the dependent never reports any
            check on the PR head (default False: such a PR is "not merged: no checks ran").
        reviewers: users and ``org/slug`` teams catalog-ops requests; empty means none (GitHub
            itself requests the CODEOWNERS of the changed files when the PR is opened).
        labels: labels added to the PR (in addition to the rollout's own).
        base: base branch of the PR; None means the default branch.
        strategy, min_release_age, windows, max_open_prs: this dependent's overrides of the
            catalog's ``rollout:`` pace (``rollout.config``): ``latest``/``next-safe``, seconds,
            ``core.schedule.Window`` values, most open rollout PRs in the repository; None:
            the catalog's value.
        environments: ordered ``(name, globs)`` pairs; empty means no chain (one PR for the
            whole repository). A reference belongs to the first environment whose globs match
            the file holding its version (``env_of``); references in no environment follow
            the first one (``rollout.chain``).
        soak_seconds: seconds an environment must have run its versions (since the merge of
            its rollout PR) before the next environment's PR opens; 0: none.
        post_merge_checks: the next environment's PR opens only after the checks reported on
            the merge commit of the previous environment's PR (on the base branch) passed.
        security_skip_soak: a security update does not wait for ``soak_seconds`` (the chain
            order and ``post_merge_checks`` still hold).
        source: file the config came from (None for defaults).
    """

    ignore: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    majors: bool = True
    raise_floor: bool = False
    automerge: str = "security"
    automerge_majors: bool = False
    automerge_patched_majors: bool = False
    automerge_without_checks: bool = False
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    base: str | None = None
    strategy: str | None = None
    min_release_age: float | None = None
    windows: tuple[Window, ...] | None = None
    max_open_prs: int | None = None
    environments: tuple[tuple[str, tuple[str, ...]], ...] = ()
    soak_seconds: int = 0
    post_merge_checks: bool = False
    security_skip_soak: bool = False
    source: str | None = None

    @property
    def env_names(self) -> tuple[str, ...]:
        """The environment names in chain order (empty without ``environments:``)."""
        return tuple(name for name, _globs in self.environments)

    def env_of(self, path: str) -> str | None:
        """The first environment whose globs match repository path ``path`` (``path_matches``
        rules), None when none does."""
        for name, globs in self.environments:
            if any(path_matches(path, g) for g in globs):
                return name
        return None

    def ignores_module(self, module: str) -> bool:
        """True when catalog module dir ``module`` (``"modules/x"``) matches an ``ignore`` glob."""
        module = module.strip("/")
        return any(fnmatch.fnmatchcase(module, pattern.strip("/")) for pattern in self.ignore)

    def scans_path(self, path: str) -> bool:
        """True when ``path`` is inside the configured ``paths`` (``**`` crosses directories;
        a plain directory name matches everything below it)."""
        if not self.paths:
            return True
        return any(path_matches(path, pattern) for pattern in self.paths)

    def allows_automerge(
        self,
        *,
        urgency: Urgency | str,
        update_type: Level | str,
        breaking: bool = False,
        patched: bool = False,
    ) -> bool:
        """Whether a PR with this urgency, highest update level and breaking flag may be merged
        without review (``urgency``/``update_type`` compare by value: ``"security"`` and
        ``Urgency.SECURITY`` are one).

        Anything breaking — a major update, or a release in the span whose metadata marks the
        module breaking (e.g. a ``0.x`` minor release with ``feat!:``) — is never auto-merged
        unless ``automerge_majors`` is set — or, when ``patched`` (every breaking release the
        update spans is covered by a migration patch that applied everywhere, docs/migrations.md),
        ``automerge_patched_majors``, which then allows it whatever the update type or urgency."""
        if self.automerge == "never":
            return False
        if (update_type == Level.MAJOR or breaking) and patched and self.automerge_patched_majors:
            return True
        if (update_type == Level.MAJOR or breaking) and not self.automerge_majors:
            return False
        if urgency == Urgency.SECURITY:
            return True
        if self.automerge == "patch":
            return update_type == Level.PATCH
        if self.automerge == "minor":
            return update_type in (Level.PATCH, Level.MINOR)
        return False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (as stored in the plan)."""
        return {
            "ignore": list(self.ignore),
            "paths": list(self.paths),
            "majors": self.majors,
            "raise_floor": self.raise_floor,
            "automerge": self.automerge,
            "automerge_majors": self.automerge_majors,
            "automerge_patched_majors": self.automerge_patched_majors,
            "automerge_without_checks": self.automerge_without_checks,
            "reviewers": list(self.reviewers),
            "labels": list(self.labels),
            "base": self.base,
            "strategy": self.strategy,
            "min_release_age": self.min_release_age,
            "windows": None if self.windows is None else [w.to_json() for w in self.windows],
            "max_open_prs": self.max_open_prs,
            **(
                {
                    "environments": {name: list(globs) for name, globs in self.environments},
                    "soak_seconds": self.soak_seconds,
                    "post_merge_checks": self.post_merge_checks,
                    "security_skip_soak": self.security_skip_soak,
                }
                if self.environments
                else {}
            ),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DependentConfig:
        """Inverse of ``to_json``."""
        return cls(
            ignore=tuple(data.get("ignore", ())),
            paths=tuple(data.get("paths", ())),
            majors=bool(data.get("majors", True)),
            raise_floor=bool(data.get("raise_floor", False)),
            automerge=str(data.get("automerge", "security")),
            automerge_majors=bool(data.get("automerge_majors", False)),
            automerge_patched_majors=bool(data.get("automerge_patched_majors", False)),
            automerge_without_checks=bool(data.get("automerge_without_checks", False)),
            reviewers=tuple(data.get("reviewers", ())),
            labels=tuple(data.get("labels", ())),
            base=data.get("base"),
            strategy=data.get("strategy"),
            min_release_age=data.get("min_release_age"),
            windows=None if data.get("windows") is None else windows_from_json(data["windows"]),
            max_open_prs=data.get("max_open_prs"),
            environments=tuple(
                (str(k), tuple(str(g) for g in v)) for k, v in (data.get("environments") or {}).items()
            ),
            soak_seconds=int(data.get("soak_seconds", 0)),
            post_merge_checks=bool(data.get("post_merge_checks", False)),
            security_skip_soak=bool(data.get("security_skip_soak", False)),
            source=data.get("source"),
        )


def path_matches(path: str, pattern: str) -> bool:
    """Glob match for repo paths: ``*`` stays within one directory, ``**`` spans any number,
    and a pattern without glob characters matches that file or everything below that directory.

    Dependents write the patterns: matched in linear time by ``core.glob`` (O(len(pattern) ×
    len(path)) steps), and ``parse_config`` refuses patterns beyond ``core.glob`` limits.
    """
    pattern = pattern.strip().removeprefix("./").rstrip("/")
    if pattern == ".":
        pattern = ""
    if not pattern:
        return True
    if not any(c in pattern for c in "*?["):
        return path == pattern or path.startswith(pattern + "/")
    return glob_matches(pattern, path, below=True)


_SCHEMA: dict[str, str] = {
    "version": "int",
    "ignore": "globlist",
    "paths": "globlist",
    "majors": "bool",
    "raise_floor": "bool",
    "automerge": "policy",
    "automerge_majors": "bool",
    "automerge_patched_majors": "bool",
    "automerge_without_checks": "bool",
    "reviewers": "strlist",
    "labels": "strlist",
    "base": "str",
    "environments": "environments",
    "soak": "duration",
    "post_merge_checks": "bool",
    "security_skip_soak": "bool",
    "strategy": "strategy",
    "min_release_age": "duration",
    "windows": "windows",
    "max_open_prs": "count",
}


#: Top-level sections owned by other commands (validated there, ignored here).
OTHER_SECTIONS = frozenset({"checks", "release", "sweep", "dashboard", "rollout"})


_where = where


def _scalar(node: yaml.Node) -> Any:
    """Resolve a scalar node to a Python value with the safe loader's rules."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def parse_config(text: str | bytes, path: str = CONFIG_PATH) -> DependentConfig:
    """Parse and validate ``.catalog-ops.yml`` contents.

    Args:
        text: file contents (bytes are decoded as UTF-8).
        path: name used in error messages (e.g. ``"acme/web-app:.catalog-ops.yml"``).

    Returns:
        The config; an empty file gives the defaults.

    Raises:
        ConfigError: ``path:line:col: key 'k': problem`` for YAML syntax errors, a non-mapping
            document, unknown keys, wrong types and invalid values (including globs beyond
            ``core.glob`` limits or more than ``MAX_GLOBS``); all errors of the file are
            collected, one per line of the message. A file over ``MAX_CONFIG_BYTES`` is
            refused before parsing.
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the file is {len(text)} bytes; at most {MAX_CONFIG_BYTES} are read")
    root = compose_document(text, path)
    if root is None:
        return DependentConfig(source=path)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{_where(path, root)}: the document must be a mapping of keys to values")
    errors: list[str] = []
    values: dict[str, Any] = {}
    seen: dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in OTHER_SECTIONS:
            continue
        if not isinstance(key, str) or key not in _SCHEMA:
            known = ", ".join(sorted(_SCHEMA))
            errors.append(f"{_where(path, key_node)}: unknown key {key!r} (known keys: {known})")
            continue
        if key in seen:
            errors.append(f"{_where(path, key_node)}: key {key!r}: duplicate key")
            continue
        seen[key] = value_node
        problem, value = _check(_SCHEMA[key], value_node)
        if problem:
            errors.append(f"{_where(path, value_node)}: key {key!r}: {problem}")
        else:
            values[key] = value
    if "version" in values and values["version"] != 1:
        errors.append(
            f"{_where(path, seen['version'])}: key 'version': unsupported schema version "
            f"{values['version']} (known: 1)"
        )
    if "environments" not in seen:
        for key in ("soak", "post_merge_checks", "security_skip_soak"):
            if key in seen:
                errors.append(f"{_where(path, seen[key])}: key {key!r}: needs 'environments'")
    if errors:
        raise ConfigError("\n".join(errors))
    values.pop("version", None)
    for key in ("ignore", "paths", "reviewers", "labels"):
        if key in values:
            values[key] = tuple(values[key])
    if "soak" in values:
        values["soak_seconds"] = values.pop("soak")
    return DependentConfig(source=path, **values)


def parse_duration(text: Any) -> int | None:
    """Seconds of a duration written ``90``, ``90s``, ``45m``, ``24h``, ``2d`` or ``1w`` (an int
    is seconds); None when it is not one of those forms."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text >= 0 else None
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text)
    return int(m.group(1)) * _UNITS[m.group(2)] if m else None


def _check(kind: str, node: yaml.Node) -> tuple[str | None, Any]:
    if kind == "environments":
        return _check_environments(node)
    if kind == "duration":
        if not isinstance(node, yaml.ScalarNode):
            return "must be a duration such as 24h, 90m or 2d", None
        seconds = parse_duration(_scalar(node))
        if seconds is None:
            return "must be a duration such as 24h, 90m or 2d (s, m, h, d, w; a number is seconds)", None
        if seconds > MAX_SOAK_SECONDS:
            return f"is longer than {MAX_SOAK_SECONDS // 86400} days", None
        return None, seconds
    if kind == "globlist":
        problem, items = _check("strlist", node)
        if problem:
            return problem, None
        if len(items) > MAX_GLOBS:
            return f"has {len(items)} globs; at most {MAX_GLOBS} are allowed", None
        for item, value in zip(node.value, items, strict=True):
            try:
                check_pattern(value)
            except GlobError as exc:
                return f"item at line {item.start_mark.line + 1}: {exc}", None
            problem = _path_glob_problem(value)
            if problem:
                return f"item at line {item.start_mark.line + 1}: {value!r} {problem}", None
        return None, items
    if kind == "windows":
        try:
            return None, parse_windows(yaml.safe_load(yaml.serialize(node)))
        except (ValueError, yaml.YAMLError) as exc:
            return str(exc), None
    if kind == "strlist":
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return None, []
        if not isinstance(node, yaml.SequenceNode):
            return "must be a list of strings", None
        items = []
        for item in node.value:
            value = _scalar(item) if isinstance(item, yaml.ScalarNode) else None
            if not isinstance(value, str) or not value.strip():
                mark = item.start_mark
                return f"item at line {mark.line + 1} must be a non-empty string", None
            items.append(value.strip())
        return None, items
    if not isinstance(node, yaml.ScalarNode):
        return f"must be a {_KIND_NAMES[kind]}", None
    value = _scalar(node)
    if kind == "bool":
        return (None, value) if isinstance(value, bool) else ("must be true or false", None)
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (None, value) if ok else ("must be an integer", None)
    if kind == "str":
        ok = isinstance(value, str) and bool(value.strip())
        return (None, value.strip()) if ok else ("must be a non-empty string", None)
    if kind == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return (None, value) if ok else ("must be an integer >= 0", None)
    if kind == "strategy":
        if value in STRATEGIES:
            return None, value
        return f"must be one of {', '.join(STRATEGIES)} (got {value!r})", None
    if kind == "policy":
        if value in AUTOMERGE_POLICIES:
            return None, value
        return f"must be one of {', '.join(AUTOMERGE_POLICIES)} (got {value!r})", None
    raise AssertionError(kind)


_KIND_NAMES = {
    "bool": "boolean",
    "int": "integer",
    "str": "string",
    "policy": "string",
    "count": "integer",
    "duration": "duration",
    "strategy": "string",
}


def _path_glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` can never match a repository path as ``path_matches`` reads it: paths are
    relative to the repository root (``envs/dev/main.tf``), so a leading ``/`` or a ``..``
    component matches nothing, and an unclosed ``[`` is a typo, not a character class."""
    if pattern.startswith("/"):
        return "starts with '/': paths are relative to the repository root (envs/dev/**)"
    if ".." in pattern.split("/"):
        return "has a '..' component: paths never leave the repository"
    depth = 0
    for ch in pattern:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
    if depth:
        return "has an unclosed '['"
    return None


def _check_environments(node: yaml.Node) -> tuple[str | None, Any]:
    """``environments:``: a mapping (in chain order) of names to a glob or a list of globs."""
    if not isinstance(node, yaml.MappingNode) or not node.value:
        return "must be a mapping of environment names to path globs, in chain order", None
    if len(node.value) > MAX_ENVIRONMENTS:
        return f"has {len(node.value)} environments; at most {MAX_ENVIRONMENTS} are allowed", None
    out: list[tuple[str, tuple[str, ...]]] = []
    for key_node, value_node in node.value:
        name = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        line = key_node.start_mark.line + 1
        if not isinstance(name, str) or not ENV_NAME.match(name):
            return (
                f"environment at line {line}: name must be 1-40 letters, digits, '.', '_' or '-' "
                f"(got {name!r})",
                None,
            )
        if any(name == n for n, _g in out):
            return f"environment {name!r} at line {line}: duplicate name", None
        if isinstance(value_node, yaml.ScalarNode) and isinstance(_scalar(value_node), str):
            value_node = yaml.SequenceNode("tag:yaml.org,2002:seq", [value_node])
        problem, globs = _check("globlist", value_node)
        if problem or not globs:
            return f"environment {name!r}: {problem or 'needs at least one path glob'}", None
        out.append((name, tuple(globs)))
    return None, tuple(out)


def load_config(files: dict[str, bytes], *, label: str = "") -> DependentConfig:
    """The config from the first of ``CONFIG_PATHS`` present in ``files`` (path -> bytes),
    defaults when none is. ``label`` (e.g. ``"acme/web-app"``) prefixes the file name in errors.

    Raises ConfigError (see ``parse_config``).
    """
    for candidate in CONFIG_PATHS:
        if candidate in files:
            name = f"{label}:{candidate}" if label else candidate
            return parse_config(files[candidate], name)
    return DependentConfig()


def config_path_in(paths: Sequence[str]) -> str | None:
    """The config file among a repo's tree paths, if any (first of ``CONFIG_PATHS``)."""
    present = set(paths)
    return next((p for p in CONFIG_PATHS if p in present), None)
