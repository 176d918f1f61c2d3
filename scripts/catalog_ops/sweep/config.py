"""The ``sweep:`` section of the catalog's ``.catalog-ops.yml``: grouping, ignore rules, upstreams.

The file itself is found through ``catalog.config.CONFIG_PATHS`` (the one list of config file
names); this module reads only its ``sweep:`` section, reporting every problem with its
``path:line:col``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from typing import Any

import yaml

from catalog_ops.catalog.config import config_path_in
from catalog_ops.core.sources import DEFAULT_REGISTRY
from catalog_ops.core.versions import Level, Version, parse_constraint
from catalog_ops.core.yamlnodes import compose_document, where
from catalog_ops.errors import CatalogOpsError, ConfigError

DEFAULT_UPSTREAMS = {"terraform": "hashicorp/terraform", "opentofu": "opentofu/opentofu"}
"""CLI name -> forge repository whose releases are its versions."""
GROUPINGS = ("majors-separate", "single", "per-dependency")
"""Values of ``sweep.grouping``."""
UPDATE_TYPES = tuple(level.value for level in Level if level is not Level.NONE)
"""Values of an ignore rule's ``update_types``: ``patch``, ``minor``, ``major`` (``Level`` words)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class IgnoreRule:
    """One ``sweep.ignore`` entry: versions of matching dependencies that are never proposed.

    Attributes:
        dependency: fnmatch glob on the dependency id (``"registry.terraform.io/hashicorp/*"``,
            ``"terraform"``, ``"github.com/acme/*"``).
        versions: optional Terraform constraint; only versions it admits are ignored.
        update_types: optional subset of ``patch``/``minor``/``major``; only those updates ignored.
    """

    dependency: str
    versions: str | None = None
    update_types: tuple[str, ...] = ()

    def ignores(self, dep_id: str, version: Version, kind: Level) -> bool:
        """True when this rule excludes moving ``dep_id`` to ``version`` (an update of ``kind``)."""
        if not fnmatch.fnmatchcase(dep_id, self.dependency):
            return False
        if self.versions is not None and not parse_constraint(self.versions).admits(_release_of(version)):
            return False
        return not (self.update_types and kind.value not in self.update_types)


def _release_of(version: Version) -> Version:
    """``version`` without its pre-release identifiers (an ignore rule's ``versions`` constraint
    matches ``6.0.0-rc1`` as it matches ``6.0.0``)."""
    if not version.is_prerelease:
        return version
    return Version(version.major, version.minor, version.patch, None, version.build, prefix=version.prefix)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """The ``sweep:`` section of the catalog's ``.catalog-ops.yml`` (all keys optional).

    Attributes:
        cli: ``terraform`` or ``opentofu``: which upstream ``required_version`` constraints and
            ``.tool-versions`` ``terraform`` lines track (None: follow ``--tf-binary``).
        upstreams: CLI name -> forge repository whose releases give its versions.
        default_registry: host for provider and module addresses written without one.
        registries: host -> base URL used instead of ``https://HOST/`` (mirrors, tests).
        grouping: ``majors-separate`` (default: each major update alone, the rest in one PR),
            ``single`` (everything in one PR) or ``per-dependency`` (one PR per dependency).
        branch_prefix: branch of the grouped PR; other branches are ``<prefix>-major-<slug>`` and
            ``<prefix>-<slug>``.
        labels: labels put on the PRs.
        ignore: ignore rules.
        workflows: also sweep ``terraform_version``/``tofu_version`` inputs in workflows.
        provider_mirror: base URL of a provider network mirror the provider packages are read
            from to keep ``.terraform.lock.hcl`` files in step (``lockfile``); None: lock
            files are left as they are and each one a provider update leaves behind is reported.
        source: where the config came from (None: defaults).
    """

    cli: str | None = None
    upstreams: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    default_registry: str = DEFAULT_REGISTRY
    registries: Mapping[str, str] = dataclasses.field(default_factory=dict)
    grouping: str = "majors-separate"
    branch_prefix: str = "catalog-ops/sweep"
    labels: tuple[str, ...] = ("dependencies",)
    ignore: tuple[IgnoreRule, ...] = ()
    workflows: bool = True
    provider_mirror: str | None = None
    source: str | None = None

    def ignores_entirely(self, dep_id: str) -> bool:
        """True when a rule without ``versions``/``update_types`` matches: never looked up."""
        return any(
            not r.versions and not r.update_types and fnmatch.fnmatchcase(dep_id, r.dependency)
            for r in self.ignore
        )

    def ignored(self, dep_id: str, version: Version, kind: Level) -> bool:
        """True when any ignore rule excludes this update."""
        return any(rule.ignores(dep_id, version, kind) for rule in self.ignore)


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def parse_sweep_config(text: str | bytes, path: str = ".catalog-ops.yml") -> SweepConfig:
    """Read the ``sweep:`` section of a ``.catalog-ops.yml`` (other sections are ignored).

    Raises:
        ConfigError: ``path:line:col: sweep.KEY: problem`` for invalid YAML, unknown keys, wrong
            types or values (all problems, one per line).
    """
    root = compose_document(text, path)
    if root is None:
        return SweepConfig(source=path)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{where(path, root)}: the document must be a mapping")
    section = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "sweep"), None)
    if section is None or (isinstance(section, yaml.ScalarNode) and section.tag.endswith(":null")):
        return SweepConfig(source=path)
    if not isinstance(section, yaml.MappingNode):
        raise ConfigError(f"{where(path, section)}: sweep: must be a mapping")
    errors: list[str] = []
    values: dict[str, Any] = {}

    def err(node: yaml.Node, key: str, problem: str) -> None:
        errors.append(f"{where(path, node)}: sweep.{key}: {problem}")

    for key_node, node in section.value:
        key = str(key_node.value)
        value = _plain(node)
        if key == "cli":
            if value not in ("terraform", "opentofu"):
                err(node, key, "must be terraform or opentofu")
            else:
                values[key] = value
        elif key in ("upstreams", "registries"):
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                err(node, key, "must be a mapping of strings to strings")
                continue
            if key == "upstreams":
                bad = [k for k in value if k not in DEFAULT_UPSTREAMS]
                if bad:
                    err(node, key, f"unknown CLI {bad[0]!r} (known: terraform, opentofu)")
                    continue
                bad = [v for v in value.values() if v.count("/") != 1]
                if bad:
                    err(node, key, f"{bad[0]!r} is not OWNER/REPO")
                    continue
                values[key] = {**DEFAULT_UPSTREAMS, **value}
            else:
                bad = [v for v in value.values() if not v.startswith(("https://", "http://"))]
                if bad:
                    err(node, key, f"{bad[0]!r} is not an http(s) URL")
                    continue
                values[key] = dict(value)
        elif key == "provider_mirror":
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                err(node, key, "must be an http(s) URL")
            else:
                values[key] = value
        elif key in ("default_registry", "branch_prefix"):
            if not isinstance(value, str) or not value.strip() or " " in value:
                err(node, key, "must be a non-empty string without spaces")
            else:
                values[key] = value.strip()
        elif key == "grouping":
            if value not in GROUPINGS:
                err(node, key, f"must be one of {', '.join(GROUPINGS)}")
            else:
                values[key] = value
        elif key == "labels":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                err(node, key, "must be a list of strings")
            else:
                values[key] = tuple(value)
        elif key == "workflows":
            if not isinstance(value, bool):
                err(node, key, "must be true or false")
            else:
                values[key] = value
        elif key == "ignore":
            rules = _parse_ignore(node, path, errors)
            if rules is not None:
                values[key] = rules
        else:
            err(
                key_node,
                key,
                "unknown key (known: branch_prefix, cli, default_registry, grouping, ignore, labels, "
                "provider_mirror, registries, upstreams, workflows)",
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return SweepConfig(source=path, **values)


def _parse_ignore(node: yaml.Node, path: str, errors: list[str]) -> tuple[IgnoreRule, ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        errors.append(f"{where(path, node)}: sweep.ignore: must be a list")
        return None
    rules = []
    ok = True
    for item in node.value:
        value = _plain(item)
        if isinstance(value, str) and value.strip():
            rules.append(IgnoreRule(dependency=value.strip()))
            continue
        if not isinstance(value, dict) or not isinstance(value.get("dependency"), str):
            errors.append(
                f"{where(path, item)}: sweep.ignore: an entry is a glob or a mapping with 'dependency'"
            )
            ok = False
            continue
        unknown = set(value) - {"dependency", "versions", "update_types"}
        if unknown:
            errors.append(f"{where(path, item)}: sweep.ignore: unknown key {sorted(unknown)[0]!r}")
            ok = False
            continue
        versions = value.get("versions")
        if versions is not None:
            try:
                parse_constraint(str(versions))
            except CatalogOpsError as exc:
                errors.append(f"{where(path, item)}: sweep.ignore.versions: {exc}")
                ok = False
                continue
        kinds = value.get("update_types") or []
        if not isinstance(kinds, list) or not all(k in UPDATE_TYPES for k in kinds):
            errors.append(
                f"{where(path, item)}: sweep.ignore.update_types: must be a list of patch, minor, major"
            )
            ok = False
            continue
        rules.append(
            IgnoreRule(
                dependency=value["dependency"],
                versions=None if versions is None else str(versions),
                update_types=tuple(kinds),
            )
        )
    return tuple(rules) if ok else None


def load_sweep_config(files: Mapping[str, bytes]) -> SweepConfig:
    """The sweep config from the catalog's config file in ``files`` (path -> bytes): the first of
    ``catalog.config.CONFIG_PATHS`` present; defaults when none is.

    Raises:
        ConfigError: the ``sweep:`` section is invalid (see ``parse_sweep_config``).
    """
    path = config_path_in(list(files))
    if path is None:
        return SweepConfig()
    return parse_sweep_config(files[path], path)
