"""Provider lock files kept in step with a rollout's module updates (issue 17).

When the target version of a catalog module requires a provider, or a version constraint, that
the dependency lock file of the directory using it does not satisfy, the rollout moves (or
adds) that provider's entry in the same commit, as ``terraform providers lock`` /
``tofu providers lock`` writes it for the platforms the lock file already lists.

Rules:

- *OpenTofu*: in a lock file OpenTofu wrote (entries on ``registry.opentofu.org``, none on
  ``registry.terraform.io``), providers written without a host are OpenTofu's default
  registry's, as ``tofu providers lock`` records them.
- *Which lock file*: the ``.terraform.lock.hcl`` committed in the directory of the reference
  (a root module's ``*.tf``; a Terragrunt unit's ``terragrunt.hcl``). Terraform keeps the lock
  file in the working directory of the root module ("Dependency Lock File",
  https://developer.hashicorp.com/terraform/language/files/dependency-lock), Terragrunt in the
  unit's directory (it copies it beside the module it runs and back).
- *What the module requires*: the ``required_providers`` entries (and legacy
  ``provider { version }`` constraints) of the module's directory at the target tag, read from
  the catalog's git history (``CatalogAtTags``), with override files and ``.tofu`` precedence as
  ``refs`` reads them, plus those of the local modules it calls (``./x``, ``../x`` inside the
  catalog), recursively. Providers only implied by resource types are not seen.
- *Satisfied*: the locked version is admitted by every known constraint on the provider in
  that directory (the dependent's own ``required_providers`` there, the bumped modules at their
  targets, the directory's other catalog references at their current tags). Terraform accepts a
  lock file exactly then ("terraform init" keeps a locked version that meets the constraints).
  A satisfied entry is never touched.
- *The new entry*: the newest version the mirror offers that every known constraint admits
  (Terraform selects the newest acceptable version), ``constraints`` in Terraform's canonical
  form (``lockfile.lock_constraints``), ``h1:`` hashes for the platforms already listed
  (``lockfile.listed_platforms``: those of the provider's own entry; for a provider new to
  the file, those of the first entry whose platforms the mirror can tell), every other byte of
  the file unchanged.
- *Cannot compute* (no ``sweep.provider_mirror`` in the catalog's ``.catalog-ops.yml``, the
  mirror fails or lacks the provider, no version admits every constraint): the ``LockUpdate``
  has no ``entry`` and a ``reason``, and the PR body names the lock file and asks for
  ``terraform providers lock`` (never a silently stale lock file).

Planning computes the entries (network: the mirror); apply only puts the planned bytes in place
(``apply_locks``, pure), so a rerun converges on the same file.
"""

from __future__ import annotations

import dataclasses
import posixpath
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

from catalog_ops import gitutil
from catalog_ops.core.edits import Edit, apply_edits
from catalog_ops.core.sources import DEFAULT_REGISTRY, ProviderAddress, SourceKind, parse_provider_address
from catalog_ops.core.versions import Version, is_unstable, parse_constraint, parse_version
from catalog_ops.errors import CatalogOpsError, ConfigError, ReleaseError, UsageError
from catalog_ops.lockfile import (
    LOCK_FILE,
    LockEntry,
    LockError,
    MirrorSource,
    PackageSource,
    insert_entry,
    listed_platforms,
    lock_constraints,
    package_hashes,
    read_lock,
    render_entry,
)
from catalog_ops.refs import RefKindOfEntry, scan_files
from catalog_ops.release.history import GitHistory
from catalog_ops.rollout.model import Bump, LockUpdate, RefAction, RefPlan
from catalog_ops.sweep.config import parse_sweep_config

#: ``{provider address: (constraint, ...)}``: what one module requires.
Requirements = Mapping[str, tuple[str, ...]]

CONFIG_FILE = ".catalog-ops.yml"
OPENTOFU_REGISTRY = "registry.opentofu.org"
_TF_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
NO_MIRROR = (
    "no provider mirror to compute it from: set sweep.provider_mirror in the catalog's .catalog-ops.yml"
)


def is_lock_path(path: str) -> bool:
    """True for a dependency lock file (``.terraform.lock.hcl``, by base name): planning reads
    them beside the candidate files (``refs.is_candidate_path`` leaves them out: they are not
    configuration)."""
    return posixpath.basename(path) == LOCK_FILE


class LockSource(PackageSource, Protocol):
    """A ``lockfile.PackageSource`` that also lists versions (``MirrorSource``)."""

    def versions(self, provider: ProviderAddress) -> list[str]:
        """The versions offered. Raises LockError."""
        ...


class CatalogReader(Protocol):
    """What lock planning reads from the catalog (``CatalogAtTags``; tests pass fakes)."""

    def requirements(self, module: str, tag: str) -> Requirements:
        """The providers ``module`` requires at ``tag``. Raises LockError."""
        ...

    def source(self) -> LockSource | None:
        """The package source (None: no mirror configured). Raises LockError."""
        ...


def module_requirements(read: Callable[[str], Mapping[str, bytes]], module: str) -> Requirements:
    """The providers ``module`` (a catalog directory, ``"."`` for the root) requires, with the
    local modules it calls, recursively (module docstring).

    Args:
        read: directory -> ``{path: bytes}`` of the Terraform files directly in it (catalog paths).
        module: the module directory.

    Raises:
        LockError: a file of the module cannot be scanned (its syntax error, naming path:line).
    """
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    todo = [posixpath.normpath(module or ".")]
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        result = scan_files(read(d))
        if result.errors:
            raise LockError(f"{result.errors[0]}")
        for ref in result.references:
            if ref.entry in (RefKindOfEntry.PROVIDER, RefKindOfEntry.PROVIDER_BLOCK):
                addr = parse_provider_address(ref.provider_source or "") if ref.provider_source else None
                if addr is not None:
                    out.setdefault(str(addr), [])
                    if ref.version:
                        out[str(addr)].append(ref.version)
            elif (
                ref.entry is RefKindOfEntry.MODULE
                and ref.source is not None
                and ref.source.kind is SourceKind.LOCAL
            ):
                target = posixpath.normpath(posixpath.join(d, ref.source.raw))
                if target != ".." and not target.startswith("../"):
                    todo.append(target)
    return {k: tuple(dict.fromkeys(v)) for k, v in sorted(out.items())}


class CatalogAtTags:
    """The catalog's files at its tags, from one clone made on first use (git is the history).

    Use as a context manager (the clone lives in a temporary directory until ``__exit__``).

    Args:
        clone_url: the catalog's URL without credentials (``forge.clone_url``).
        env: extra git environment (the forge's ``git_auth_env``), kept in memory only.
        source_factory: mirror base URL -> ``LockSource`` (tests pass one trusting their CA).
        name: how errors name the catalog's config file (``acme/modules:.catalog-ops.yml``).
    """

    def __init__(
        self,
        clone_url: str,
        *,
        env: Mapping[str, str] | None = None,
        source_factory: Callable[[str], LockSource] = MirrorSource,
        name: str = CONFIG_FILE,
    ) -> None:
        self.name = name
        self.clone_url = clone_url
        self.env = env
        self.source_factory = source_factory
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._history: GitHistory | None = None
        self._failed: str | None = None
        self._needs: dict[tuple[str, str], Requirements | str] = {}
        self._source: LockSource | str | None = None

    def __enter__(self) -> CatalogAtTags:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the clone (if one was made); a later use clones again."""
        self._history = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _clone(self) -> GitHistory:
        if self._history is None:
            if self._failed is not None:
                raise LockError(self._failed)
            self._tmp = tempfile.TemporaryDirectory(prefix="catalog-ops-locks-")
            try:
                self._history = GitHistory.clone(
                    self.clone_url, Path(self._tmp.name) / "catalog", env=self.env
                )
            except ReleaseError as exc:
                self._failed = f"the catalog could not be cloned ({exc})"
                raise LockError(self._failed) from None
        return self._history

    def _read_dir(self, rev: str, listing: Sequence[str], d: str) -> dict[str, bytes]:
        history = self._clone()
        prefix = "" if d in ("", ".") else d.rstrip("/") + "/"
        out = {}
        for p in listing:
            if p.startswith(prefix) and "/" not in p[len(prefix) :] and p.endswith(_TF_SUFFIXES):
                data = gitutil.read_blob(history.git_dir, rev, p)
                if data is not None:
                    out[p] = data
        return out

    def requirements(self, module: str, tag: str) -> Requirements:
        """``module_requirements`` of ``module`` at ``tag`` (cached). Raises LockError."""
        key = (module, tag)
        if key not in self._needs:
            try:
                history = self._clone()
                rev = history.resolve(f"refs/tags/{tag}") or history.resolve(tag)
                if rev is None:
                    raise LockError(f"tag {tag} not found in the catalog")
                listing = gitutil.list_tree(history.git_dir, rev)
                self._needs[key] = module_requirements(lambda d: self._read_dir(rev, listing, d), module)
            except (LockError, gitutil.GitError) as exc:
                self._needs[key] = f"{module} at {tag}: {exc}"
        got = self._needs[key]
        if isinstance(got, str):
            raise LockError(got)
        return got

    def source(self) -> LockSource | None:
        """The package source of ``sweep.provider_mirror`` in the catalog's ``.catalog-ops.yml``
        at its default branch (the setting the sweep uses); None when unset. Raises LockError
        when the config cannot be read (the message names the file and line)."""
        if self._source is None:
            try:
                history = self._clone()
                raw = gitutil.read_blob(history.git_dir, "HEAD", CONFIG_FILE)
                url = parse_sweep_config(raw, self.name).provider_mirror if raw else None
                self._source = self.source_factory(url) if url else ""
            except (ConfigError, UsageError) as exc:
                self._source = f"{exc}"
            except LockError as exc:
                self._source = str(exc)
        if isinstance(self._source, str):
            if self._source:
                raise LockError(self._source)
            return None
        return self._source


@dataclasses.dataclass(frozen=True)
class _Need:
    constraints: tuple[str, ...]
    by: tuple[str, ...]


def _dir_of(path: str) -> str:
    return posixpath.dirname(path)


def _lock_path(d: str) -> str:
    return f"{d}/{LOCK_FILE}" if d else LOCK_FILE


def _own_constraints(files: Mapping[str, bytes], d: str) -> dict[str, list[str]]:
    """The dependent's own provider constraints in directory ``d`` (its root module files)."""
    local = {p: b for p, b in files.items() if _dir_of(p) == d and p.endswith(_TF_SUFFIXES)}
    out: dict[str, list[str]] = {}
    for ref in scan_files(local).references:
        if ref.entry in (RefKindOfEntry.PROVIDER, RefKindOfEntry.PROVIDER_BLOCK) and ref.provider_source:
            addr = parse_provider_address(ref.provider_source)
            if addr is not None and ref.version:
                out.setdefault(str(addr), []).append(ref.version)
    return out


def _written_by_opentofu(entries: Sequence[LockEntry]) -> bool:
    """True for a lock file OpenTofu wrote: its entries are on OpenTofu's default registry
    (``registry.opentofu.org``) and none on Terraform's. A provider address without a host means
    the CLI's default registry (OpenTofu "Provider Registry Protocol", "Provider Addresses":
    https://opentofu.org/docs/internals/provider-registry-protocol/), so ``hashicorp/time`` is
    ``registry.opentofu.org/hashicorp/time`` in such a file."""
    hosts = {e.address.split("/", 1)[0] for e in entries}
    return OPENTOFU_REGISTRY in hosts and DEFAULT_REGISTRY not in hosts


def _on_opentofu(address: str) -> str:
    """``address`` with Terraform's default registry host replaced by OpenTofu's."""
    host, _, rest = address.partition("/")
    return f"{OPENTOFU_REGISTRY}/{rest}" if host == DEFAULT_REGISTRY else address


def _admits_all(constraints: Iterable[str], version: Version) -> bool:
    return all(parse_constraint(c).admits(version) for c in constraints)


def plan_locks(
    files: Mapping[str, bytes],
    refs: Sequence[RefPlan],
    bumps: Sequence[Bump],
    catalog: CatalogReader,
    *,
    cache: dict[str, str] | None = None,
) -> tuple[LockUpdate, ...]:
    """The lock-file entries a dependent's planned updates need (module docstring).

    Args:
        files: the dependent's candidate files at its base (``path -> bytes``; lock files are
            candidates: ``*.hcl``).
        refs / bumps: the dependent's planned references and bumps (``planner.plan_dependent``).
        catalog: the catalog at its tags (requirements) and its mirror setting.
        cache: package URL -> ``h1:`` hash, shared across dependents of one plan.

    Never raises for ordinary problems: they become ``LockUpdate``s without ``entry``.
    """
    cache = {} if cache is None else cache
    tag_of = {(b.address, b.target): b.tag for b in bumps}
    by_dir: dict[str, list[tuple[str, str, bool]]] = {}  # dir -> (module, tag, bumped)
    for r in refs:
        d = _dir_of(r.path)
        if _lock_path(d) not in files:
            continue
        if r.action is RefAction.BUMP and r.target_version is not None:
            tag = tag_of.get((r.address or "", r.target_version))
            if tag is not None:
                by_dir.setdefault(d, []).append((r.module, tag, True))
        elif r.current and parse_version(r.current) is not None and r.source.find("?ref=") != -1:
            by_dir.setdefault(d, []).append((r.module, r.current, False))
    out: list[LockUpdate] = []
    for d, uses in sorted(by_dir.items()):
        if not any(bumped for _, _, bumped in uses):
            continue
        lock = _lock_path(d)
        needs: dict[str, _Need] = {}
        wanted: set[str] = set()
        problem: str | None = None
        for module, tag, bumped in dict.fromkeys(uses):
            try:
                reqs = catalog.requirements(module, tag)
            except LockError as exc:
                if bumped:
                    problem = str(exc)
                continue
            for provider, cons in reqs.items():
                n = needs.get(provider, _Need((), ()))
                label = f"{module} {tag}" + (f": {', '.join(cons)}" if cons else "")
                needs[provider] = _Need(n.constraints + cons, (*n.by, label))
                if bumped:
                    wanted.add(provider)
        if problem is not None:
            out.append(LockUpdate(path=lock, provider="*", reason=f"{problem}; lock file not checked"))
            continue
        for provider, own in _own_constraints(files, d).items():
            n = needs.get(provider, _Need((), ()))
            needs[provider] = _Need(n.constraints + tuple(own), n.by)
        text = files[lock].decode("utf-8", errors="replace")
        try:
            entries = read_lock(text, lock)
        except LockError as exc:
            out.append(LockUpdate(path=lock, provider="*", reason=str(exc)))
            continue
        if _written_by_opentofu(entries):
            needs = {_on_opentofu(p): n for p, n in needs.items()}
            wanted = {_on_opentofu(p) for p in wanted}
        updates: list[LockUpdate] = []
        for provider in sorted(wanted):
            updates.append(_plan_entry(lock, text, entries, provider, needs[provider], catalog, cache))
        live = [u for u in updates if u.version is not None or u.reason is not None]
        out.extend(live)
    return tuple(out)


def _plan_entry(
    lock: str,
    text: str,
    entries: list[LockEntry],
    provider: str,
    need: _Need,
    catalog: CatalogReader,
    cache: dict[str, str],
) -> LockUpdate:
    """One provider of one lock file: unchanged (a ``LockUpdate`` with neither version nor
    reason, dropped by the caller), a computed entry, or a reason it cannot be computed."""
    entry = next((e for e in entries if e.address == provider), None)
    base = LockUpdate(
        path=lock, provider=provider, current=entry.version if entry else None, needed_by=need.by
    )
    try:
        constraints = tuple(dict.fromkeys(need.constraints))
        for c in constraints:
            parse_constraint(c)
    except UsageError as exc:
        return dataclasses.replace(base, reason=str(exc))
    locked = parse_version(entry.version) if entry and entry.version else None
    if locked is not None and _admits_all(constraints, locked):
        return base
    addr = parse_provider_address(provider)
    assert addr is not None
    try:
        source = catalog.source()
        if source is None:
            return dataclasses.replace(base, reason=NO_MIRROR)
        offered = [v for v in (parse_version(x) for x in source.versions(addr)) if v is not None]
        ok = [v for v in offered if not is_unstable(v) and _admits_all(constraints, v)]
        if not ok:
            why = ", ".join(constraints) or "no constraint"
            return dataclasses.replace(
                base, reason=f"the mirror offers no version of {provider} admitting {why}"
            )
        version = max(ok).core
        platforms: list[str] = []
        if entry is not None:
            platforms = listed_platforms(entry, addr, source, cache)
        else:
            for other in entries:
                other_addr = parse_provider_address(other.address)
                if other_addr is None:
                    continue
                try:
                    platforms = listed_platforms(other, other_addr, source, cache)
                except LockError:
                    continue
                if platforms:
                    break
        if not platforms:
            return dataclasses.replace(
                base,
                reason="the platforms the lock file lists could not be told (no h1: hash the mirror matches)",
            )
        hashes = package_hashes(
            source,
            addr,
            version,
            platforms,
            cache,
            zh=entry is not None and any(h.startswith("zh:") for h in entry.hashes),
        )
    except (LockError, CatalogOpsError) as exc:
        return dataclasses.replace(base, reason=str(exc))
    block = render_entry(provider, version, lock_constraints(constraints) or None, hashes)
    return dataclasses.replace(base, version=version, entry=block)


def apply_locks(files: Mapping[str, bytes], locks: Sequence[LockUpdate]) -> dict[str, bytes]:
    """The lock files ``locks`` change, as ``{path: new bytes}`` (pure): each planned ``entry``
    replaces the provider's block, or is inserted in address order (``insert_entry``); a block
    already equal to it is left. A lock file missing from ``files`` (deleted since the plan), or
    no longer readable, is left out."""
    out: dict[str, bytes] = {}
    for path in sorted({lk.path for lk in locks if lk.entry}):
        if path not in files:
            continue
        text = files[path].decode("utf-8")
        for lk in locks:
            if lk.path != path or not lk.entry:
                continue
            try:
                entries = read_lock(text, path)
            except LockError:
                break
            old = next((e for e in entries if e.address == lk.provider), None)
            if old is not None:
                a, b = old.span
                if text[a:b] != lk.entry:
                    text = apply_edits(text, [Edit(a, b, text[a:b], lk.entry)])
            else:
                text = apply_edits(text, [insert_entry(text, entries, lk.provider, lk.entry)])
        new = text.encode("utf-8")
        if new != files[path]:
            out[path] = new
    return out


__all__ = [
    "NO_MIRROR",
    "CatalogAtTags",
    "CatalogReader",
    "LockSource",
    "Requirements",
    "apply_locks",
    "is_lock_path",
    "module_requirements",
    "plan_locks",
]
