"""The ``rollout:`` section of the catalog's ``.catalog-ops.yml``: waves, strategy and pace.

Schema (every key optional; ``docs/rollout.md`` "Waves", "Strategies and pace")::

    rollout:
      strategy: latest            # latest | next-safe (default for every dependent)
      min_release_age: 3d         # a normal release opens nothing until this old (0: at once)
      exempt: [min_release_age]   # what security releases skip: min_release_age, windows, waves
      windows:                    # when PRs are opened/updated (default: any time)
        - {days: [mon, tue, wed, thu], hours: "09:00-16:00", timezone: Europe/Berlin}
      max_open_prs: 3             # per dependent: most open catalog-ops rollout PRs in it
      max_new_prs: 50             # per run: most PRs one plan opens
      waves:                      # in order; dependents in no wave form the last one
        - name: canary
          repos: [acme/payments]  # explicit list (owner/name)
          match: ["canary-*"]     # globs on the repository name (core.glob)
          topics: [canary]        # any of the repository's topics
          share: 0.5              # the next wave starts when this share merged (default: all)
          time_limit: 2d          # ... or this long after this wave started

The file is found through ``catalog.config.CONFIG_PATHS``; this module reads only its
``rollout:`` section (like ``sweep.config`` reads ``sweep:``), reporting every problem as
``path:line:col: rollout.KEY: problem`` (``core.yamlnodes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import yaml

from catalog_ops.catalog.config import STRATEGIES, config_path_in
from catalog_ops.core.glob import GlobError, check_pattern
from catalog_ops.core.schedule import Window, parse_duration, parse_window, parse_windows, windows_from_json
from catalog_ops.core.yamlnodes import compose_document, where
from catalog_ops.errors import ConfigError

EXEMPTIONS = ("min_release_age", "windows", "waves")
"""What ``rollout.exempt`` may name: the rules a security release skips."""
MAX_WAVES = 20
"""Most waves (bounded work per config)."""
MAX_WAVE_ITEMS = 500
"""Most entries in one wave's ``repos``/``match``/``topics``."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Wave:
    """One wave of dependents (``rollout.waves``).

    Attributes:
        name: shown in the plan, summary and dashboard.
        repos: explicit members (``owner/name``, compared case-insensitively).
        match: globs on the repository name (``core.glob``; ``canary-*``).
        topics: a repository with any of these topics is a member.
        share: the next wave starts when this share (0 < share <= 1) of this wave's PRs merged
            without failing checks; None: all of them.
        time_limit: seconds after this wave started (its first PR opened) when the next wave
            starts anyway (unless this wave failed); None: no limit.
    """

    name: str
    repos: tuple[str, ...] = ()
    match: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    share: float | None = None
    time_limit: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (as a plan stores it)."""
        return {
            "name": self.name,
            "repos": list(self.repos),
            "match": list(self.match),
            "topics": list(self.topics),
            "share": self.share,
            "time_limit": self.time_limit,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Wave:
        """Inverse of ``to_json``."""
        return cls(
            name=str(data["name"]),
            repos=tuple(data.get("repos") or ()),
            match=tuple(data.get("match") or ()),
            topics=tuple(data.get("topics") or ()),
            share=data.get("share"),
            time_limit=data.get("time_limit"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class RolloutConfig:
    """The catalog's ``rollout:`` section (module docstring); defaults keep today's behaviour:
    every dependent at once, the latest release, no age, window or cap.

    Attributes:
        strategy: ``latest`` or ``next-safe`` (``catalog.config.STRATEGIES``).
        min_release_age: seconds a normal release must have been published before it is a target.
        exempt: rules security releases skip (``EXEMPTIONS``); default ``min_release_age``.
        windows: when PRs may be opened or updated (``core.schedule.Window``); empty: any time.
        max_open_prs: per dependent, most open catalog-ops rollout PRs; None: no cap.
        max_new_prs: per run (one plan), most PRs opened; None: no cap.
        waves: ordered waves; empty: one wave of everyone.
        source: the file it came from (None: defaults).
    """

    strategy: str = "latest"
    min_release_age: float = 0.0
    exempt: tuple[str, ...] = ("min_release_age",)
    windows: tuple[Window, ...] = ()
    max_open_prs: int | None = None
    max_new_prs: int | None = None
    waves: tuple[Wave, ...] = ()
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the plan's ``rollout`` field)."""
        return {
            "strategy": self.strategy,
            "min_release_age": self.min_release_age,
            "exempt": list(self.exempt),
            "windows": [w.to_json() for w in self.windows],
            "max_open_prs": self.max_open_prs,
            "max_new_prs": self.max_new_prs,
            "waves": [w.to_json() for w in self.waves],
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RolloutConfig:
        """Inverse of ``to_json`` (None or {}: the defaults)."""
        if not data:
            return cls()
        return cls(
            strategy=str(data.get("strategy") or "latest"),
            min_release_age=float(data.get("min_release_age") or 0.0),
            exempt=tuple(data.get("exempt", ("min_release_age",))),
            windows=windows_from_json(data.get("windows") or ()),
            max_open_prs=data.get("max_open_prs"),
            max_new_prs=data.get("max_new_prs"),
            waves=tuple(Wave.from_json(w) for w in data.get("waves") or ()),
            source=data.get("source"),
        )


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _strings(value: Any, what: str, *, globs: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what}: must be a list of non-empty strings")
    if len(value) > MAX_WAVE_ITEMS:
        raise ValueError(f"{what}: has {len(value)} entries; at most {MAX_WAVE_ITEMS} are allowed")
    if globs:
        for v in value:
            try:
                check_pattern(v.strip())
            except GlobError as exc:
                raise ValueError(f"{what}: {exc}") from None
    return tuple(v.strip() for v in value)


_WAVE_KEYS = ("name", "repos", "match", "topics", "share", "time_limit")


def _wave(node: yaml.Node, index: int, path: str, errors: list[str]) -> Wave | None:
    """One wave; every problem is appended to ``errors`` as ``path:line:col: rollout.waves[i]:
    problem`` at the offending key or value (the wave's own position only when no key is at
    fault). None when the wave has any problem."""
    label = f"rollout.waves[{index}]"
    if not isinstance(node, yaml.MappingNode):
        errors.append(
            f"{where(path, node)}: {label}: a wave is a mapping with name and repos, match or topics"
        )
        return None
    before = len(errors)
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
        if key is None or key not in _WAVE_KEYS:
            errors.append(
                f"{where(path, key_node)}: {label}: unknown key {key!r} in a wave (known: {', '.join(_WAVE_KEYS)})"
            )
        elif key in fields:
            errors.append(f"{where(path, key_node)}: {label}: {key}: duplicate key")
        else:
            fields[key] = value_node

    def check(key: str, parse: Any, default: Any) -> Any:
        if key not in fields:
            return default
        try:
            return parse(_plain(fields[key]))
        except ValueError as exc:
            errors.append(f"{where(path, fields[key])}: {label}: {exc}")
            return default

    def name_of(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("name: must be a non-empty string")
        return value.strip()

    def repos_of(value: Any) -> tuple[str, ...]:
        repos = _strings(value, "repos")
        if any(r.count("/") != 1 for r in repos):
            raise ValueError("repos: entries are owner/name")
        return repos

    def share_of(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ValueError(f"share: must be a number in (0, 1] (got {value!r})")
        return float(value)

    def limit_of(value: Any) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"time_limit: {exc}") from None

    name = check("name", name_of, f"wave {index + 1}")
    repos = check("repos", repos_of, ())
    match = check("match", lambda v: _strings(v, "match", globs=True), ())
    topics = check("topics", lambda v: _strings(v, "topics"), ())
    share = check("share", share_of, None)
    limit = check("time_limit", limit_of, None)
    if len(errors) > before:
        return None
    if not (repos or match or topics):
        errors.append(f"{where(path, node)}: {label}: wave {name!r} names no repos, match or topics")
        return None
    return Wave(name=name, repos=repos, match=match, topics=topics, share=share, time_limit=limit)


def parse_rollout_config(text: str | bytes, path: str = ".catalog-ops.yml") -> RolloutConfig:
    """Read the ``rollout:`` section of a catalog's ``.catalog-ops.yml`` (other sections ignored).

    Raises:
        ConfigError: ``path:line:col: rollout.KEY: problem`` for invalid YAML, unknown keys,
            wrong types or values (every problem, one per line).
    """
    root = compose_document(text, path)
    if root is None:
        return RolloutConfig(source=path)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{where(path, root)}: the document must be a mapping")
    section = next(
        (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "rollout"), None
    )
    if section is None or (isinstance(section, yaml.ScalarNode) and section.tag.endswith(":null")):
        return RolloutConfig(source=path)
    if not isinstance(section, yaml.MappingNode):
        raise ConfigError(f"{where(path, section)}: rollout: must be a mapping")
    errors: list[str] = []
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for key_node, node in section.value:
        key = str(key_node.value)
        if key in seen:
            errors.append(f"{where(path, key_node)}: rollout.{key}: duplicate key")
            continue
        seen.add(key)
        value = _plain(node)
        try:
            if key == "strategy":
                if value not in STRATEGIES:
                    raise ValueError(f"must be one of {', '.join(STRATEGIES)} (got {value!r})")
                values[key] = value
            elif key == "min_release_age":
                values[key] = parse_duration(value)
            elif key == "exempt":
                items = _strings(value, "exempt") if value else ()
                bad = [i for i in items if i not in EXEMPTIONS]
                if bad:
                    raise ValueError(f"unknown rule {bad[0]!r} (known: {', '.join(EXEMPTIONS)})")
                values[key] = items
            elif key == "windows":
                if not isinstance(node, yaml.SequenceNode):
                    raise ValueError("must be a list of windows ({days, hours, timezone})")
                windows = []
                for item in node.value:
                    try:
                        windows.append(parse_window(_plain(item)))
                    except ValueError as exc:  # name the window at fault
                        errors.append(f"{where(path, item)}: rollout.{key}: {exc}")
                values[key] = parse_windows([w.to_json() for w in windows])  # the count
            elif key in ("max_open_prs", "max_new_prs"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError("must be an integer >= 0")
                values[key] = value
            elif key == "waves":
                if not isinstance(node, yaml.SequenceNode):
                    raise ValueError("must be a list of waves")
                if len(node.value) > MAX_WAVES:
                    raise ValueError(f"has {len(node.value)} waves; at most {MAX_WAVES} are allowed")
                waves = []
                for i, item in enumerate(node.value):
                    wave = _wave(item, i, path, errors)
                    if wave is not None:
                        waves.append(wave)
                names = [w.name for w in waves]
                dup = next((n for n in names if names.count(n) > 1), None)
                if dup is not None:
                    raise ValueError(f"two waves are named {dup!r}")
                values[key] = tuple(waves)
            else:
                known = "exempt, max_new_prs, max_open_prs, min_release_age, strategy, waves, windows"
                errors.append(f"{where(path, key_node)}: rollout.{key}: unknown key (known: {known})")
        except ValueError as exc:
            errors.append(f"{where(path, node)}: rollout.{key}: {exc}")
    if errors:
        raise ConfigError("\n".join(errors))
    return RolloutConfig(source=path, **values)


def load_rollout_config(files: Mapping[str, bytes], *, label: str = "") -> RolloutConfig:
    """The rollout config from the catalog's config file in ``files`` (path -> bytes): the first
    of ``catalog.config.CONFIG_PATHS`` present; defaults when none is. ``label`` (``acme/modules``)
    prefixes the file name in errors.

    Raises:
        ConfigError: the ``rollout:`` section is invalid (see ``parse_rollout_config``).
    """
    path = config_path_in(list(files))
    if path is None:
        return RolloutConfig()
    return parse_rollout_config(files[path], f"{label}:{path}" if label else path)
