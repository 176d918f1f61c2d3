"""The rollout plan model: releases, per-reference and per-dependent decisions, the plan
document (JSON schema 1, ``docs/rollout.md``).

Values only (no I/O, no planning rules): ``rollout.planner`` makes them, ``rollout.gather``
fills them from a forge, ``rollout.shard`` splits them, ``rollout.apply`` and
``rollout.dashboard`` read them. ``to_json``/``from_json`` are exact inverses, so a plan written
by ``rollout plan`` and read by ``rollout apply`` carries the same values.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.catalog.layout import ROOT_MODULE, module_key
from catalog_ops.core.metadata import ReleaseMetadata
from catalog_ops.core.versions import Level, TagScheme, Urgency, Version, parse_version
from catalog_ops.errors import UsageError
from catalog_ops.migrate.apply import StepOutcome
from catalog_ops.migrate.model import Migration
from catalog_ops.rollout.commands import Command, Decision, Ignore
from catalog_ops.rollout.config import RolloutConfig

PLAN_SCHEMA = 1
# Skip reasons that are errors (``rollout plan`` and ``dashboard`` exit 1 on them): the
# dependent could not be read or its ``.catalog-ops.yml`` is invalid (file:line:col).
PROBLEM_REASONS = ("forge error", "invalid config", "could not be planned", "base branch")


class RefAction(enum.StrEnum):
    """What happens to one reference (compares equal to its JSON string)."""

    BUMP = "bump"  # moved to the target
    CURRENT = "current"  # already at the newest release it may use, or its module did not change
    SKIP = "skip"  # cannot be moved (branch/SHA/dynamic ref, ignored module, ...): see the reason


class Action(enum.StrEnum):
    """What apply does for a dependent."""

    OPEN = "open"  # open a PR
    UPDATE = "update"  # refresh the open PR on the rollout branch
    CLOSE = "close"  # close the open rollout PR: superseded (nothing left to bump)
    NOTHING = "nothing"  # up to date, or no reference to the catalog
    SKIP = "skip"  # cannot be planned (config error, empty repo, archived, ...)
    HOLD = "hold"  # has work, held by its wave, a window, the minimum release age, a cap or its chain


class DependentState(enum.StrEnum):
    """Where a dependent stands in the rollout of the plan's release (``rollout.waves``;
    dashboard and summary show these)."""

    WAITING = "waiting"  # has work; its PR is opened by this run (or waits for its wave)
    OPEN = "open"  # its rollout PR for this release is open (checks pending or passed)
    MERGED = "merged"  # up to date for this release (its PR merged, or nothing was needed)
    FAILED = "failed"  # its PR's checks failed, or a person closed it unmerged
    HELD = "held"  # held by schedule (window, minimum release age, cap) or its chain (soak, checks)
    NONE = "none"  # no reference to the catalog, or not planned (skip)


# --------------------------------------------------------------------------- releases
#: bound on a forge release body kept in a plan (characters): untrusted text, bounded work.
MAX_BODY = 4000


@dataclasses.dataclass(frozen=True, kw_only=True)
class CatalogRelease:
    """One version of the catalog as a plan sees it: a tag, enriched by the forge release.

    Attributes:
        tag: git tag, e.g. ``"v1.3.0"``.
        version: parsed ``tag``.
        prerelease: the forge marks it a pre-release (or the version has pre-release ids).
        url: release page (or the tag's tree when the tag has no forge release).
        metadata: catalog-ops release metadata of the release body, None when it carries none;
            a cache of ``changed``/``via`` (used only when git could not be read).
        changed: modules whose own files changed since ``previous`` (git:
            ``release.changes.VersionChange``); None when git was not read.
        via: module -> changed modules it uses (changed only through them), from git.
        subjects: module -> subjects of the commits that changed it (notes of last resort).
        previous: the previous tag of the scheme (git), None for the first or when unknown.
        body: the forge release body (untrusted text, at most ``MAX_BODY`` characters; "" when
            the tag has no release). changelog: the ``CHANGELOG.md`` section of this version.
        has_release: a forge release exists for the tag.
        published_at: when the forge release was published (ISO 8601 UTC; "" when unknown or
            the tag has none): the minimum release age counts from it (``rollout.pace``).
    """

    tag: str
    version: Version
    prerelease: bool = False
    url: str = ""
    metadata: ReleaseMetadata | None = None
    changed: tuple[str, ...] | None = None
    via: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    subjects: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    previous: str | None = None
    body: str = ""
    changelog: str | None = None
    has_release: bool = True
    published_at: str = ""

    @property
    def urgency(self) -> Urgency:
        """The release metadata's urgency (``normal`` without metadata)."""
        return Urgency(self.metadata.urgency) if self.metadata else Urgency.NORMAL

    def changes_module(self, module: str) -> bool:
        """True when this release changed ``module`` (``module_key`` names; ``"."`` the root).

        git decides when it was read (``changed``/``via``); otherwise catalog-ops' metadata (a
        cache of the same answer); a release with neither counts as changed."""
        module = module_key(module)
        if self.changed is not None:
            return module in self.changed or module in self.via
        if self.metadata is None:
            return True
        m = self.metadata.modules.get(module)
        if m is None and module == ROOT_MODULE:
            m = self.metadata.modules.get("")
        return bool(m and m.changed and not m.tests_only)

    def metadata_consistent(self, module: str) -> bool:
        """The metadata agrees with git about ``module`` (both say changed, or git is unknown):
        only then are its notes used."""
        module = module_key(module)
        if self.metadata is None:
            return False
        m = self.metadata.modules.get(module)
        meta_says = bool(m and m.changed and not m.tests_only)
        return self.changed is None or meta_says == self.changes_module(module)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "tag": self.tag,
            "version": self.version.core,
            "prerelease": self.prerelease,
            "url": self.url,
            "metadata": self.metadata.to_json() if self.metadata else None,
            "changed": None if self.changed is None else list(self.changed),
            "via": {k: list(v) for k, v in self.via.items()},
            "subjects": {k: list(v) for k, v in self.subjects.items()},
            "previous": self.previous,
            "body": self.body,
            "changelog": self.changelog,
            "has_release": self.has_release,
            "published_at": self.published_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogRelease:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        version = parse_version(str(data["tag"])) or parse_version(str(data["version"]))
        if version is None:
            raise ValueError(f"release {data['tag']!r} has no semantic version")
        meta = data.get("metadata")
        changed = data.get("changed")
        return cls(
            tag=str(data["tag"]),
            version=version,
            prerelease=bool(data.get("prerelease", False)),
            url=str(data.get("url", "")),
            metadata=ReleaseMetadata.from_json(meta) if meta else None,
            changed=None if changed is None else tuple(str(m) for m in changed),
            via={str(k): tuple(v) for k, v in (data.get("via") or {}).items()},
            subjects={str(k): tuple(v) for k, v in (data.get("subjects") or {}).items()},
            previous=data.get("previous"),
            body=str(data.get("body") or ""),
            changelog=data.get("changelog"),
            has_release=bool(data.get("has_release", True)),
            published_at=str(data.get("published_at") or ""),
        )


# --------------------------------------------------------------------------- plan values
@dataclasses.dataclass(frozen=True, kw_only=True)
class RefPlan:
    """One reference to the catalog in a dependent and what happens to it.

    Attributes:
        path, line, col: where the reference is (1-based), ``written_in`` where its bytes live.
        module: catalog module dir (``"modules/network"``; ``"."`` for the root module, see
            ``module_key``).
        source: the source string as written/resolved.
        current: the pinned ref or version constraint as written (None when there is none).
        target_version: the version to move to, with the prefix ``current`` is written with
            (``v1.3.0``; a registry constraint: no prefix); None if no update. ``target`` is
            its text, as the plan JSON stores it.
        update: how far ``target_version`` is from ``current`` (``versions.update_type``).
        urgency: highest urgency of the spanned releases that changed the module.
        breaking: crosses a major or a spanned release marks the module breaking.
        action: see ``RefAction``. reason: why (for ``current`` and ``skip``).
        address: the address given to ``bump.bump_files`` (``bump`` only).
        ref_line: line of the version token in ``written_in`` (0: unknown).
        proposed: the text the version token gets, as the user will read it in the file
            (``"v1.3.0"``, ``"~> 6.6"``); None when it does not change.
        held_until: a newer release is held back by the minimum release age until this moment
            (ISO 8601 UTC; ``rollout.pace``); None otherwise.
        patches: the catalog's migration patches (patch file paths, ``Plan.migrations``) this
            update applies to the reference's module block, in order (docs/migrations.md).
        patched: the update is breaking and a patch covers every breaking release it spans.
    """

    path: str
    line: int
    col: int
    written_in: str
    module: str
    source: str
    current: str | None
    target_version: Version | None = None
    update: Level = Level.NONE
    urgency: Urgency = Urgency.NORMAL
    breaking: bool = False
    action: RefAction = RefAction.SKIP
    reason: str | None = None
    address: str | None = None
    ref_line: int = 0
    proposed: str | None = None
    held_until: str | None = None
    patches: tuple[str, ...] = ()
    patched: bool = False

    @property
    def target(self) -> str | None:
        """The target as it will be written (``"v1.3.0"``), None if no update."""
        return None if self.target_version is None else str(self.target_version)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md; ``patches``/``patched`` only
        when there are patches)."""
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "written_in": self.written_in,
            "module": self.module,
            "source": self.source,
            "current": self.current,
            "target": self.target,
            "update": self.update.value,
            "urgency": self.urgency.value,
            "breaking": self.breaking,
            "action": self.action.value,
            "reason": self.reason,
            "address": self.address,
            "ref_line": self.ref_line,
            "proposed": self.proposed,
            "held_until": self.held_until,
        }
        if self.patches or self.patched:
            out["patches"] = list(self.patches)
            out["patched"] = self.patched
        return out

    @property
    def token_at(self) -> tuple[str, int]:
        """``(file, line)`` of the version token, as ``bump.BumpOutcome`` reports it."""
        return (self.written_in, self.ref_line or self.line)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefPlan:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        target = data.get("target")
        target_version = Version.parse(str(target)) if target else None
        return cls(
            path=str(data["path"]),
            line=int(data["line"]),
            col=int(data["col"]),
            written_in=str(data["written_in"]),
            module=str(data["module"]),
            source=str(data["source"]),
            current=data.get("current"),
            target_version=target_version,
            update=Level(data.get("update", "none")),
            urgency=Urgency(data.get("urgency", "normal")),
            breaking=bool(data.get("breaking", False)),
            action=RefAction(data.get("action", "skip")),
            reason=data.get("reason"),
            address=data.get("address"),
            ref_line=int(data.get("ref_line", 0)),
            proposed=data.get("proposed"),
            held_until=data.get("held_until"),
            patches=tuple(str(p) for p in data.get("patches") or ()),
            patched=bool(data.get("patched", False)),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bump:
    """One ``bump.bump_files`` call: every reference to ``address`` of ``scheme`` that is not
    newer moves to ``target``.

    Attributes:
        address: module source address (``github.com/acme/modules//modules/vpc``) or registry
            module address. module: catalog module dir.
        target: the release version (``to`` is its core text, ``"1.3.0"``). tag: its git tag.
        allow_prerelease: the target is a pre-release (``bump_files`` refuses them otherwise).
        scheme: tag scheme of the references this bump moves; None (plans written before the
            field existed): any scheme. JSON: ``TagScheme.key``.
        raise_floor: also move registry constraints that already admit ``target`` (the
            dependent's ``raise_floor``; ``core.drift``).
        files: only references whose version bytes live in these files move (an environment's
            step of a chain, ``rollout.chain``); None: every file.
    """

    address: str
    module: str
    target: Version
    tag: str
    allow_prerelease: bool = False
    scheme: TagScheme | None = None
    raise_floor: bool = False
    files: tuple[str, ...] | None = None

    @property
    def to(self) -> str:
        """The target version core (``"1.3.0"``), as ``bump_files(to=...)`` takes it."""
        return self.target.core

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "address": self.address,
            "module": self.module,
            "to": self.to,
            "tag": self.tag,
            "allow_prerelease": self.allow_prerelease,
            "scheme": None if self.scheme is None else self.scheme.key,
            "raise_floor": self.raise_floor,
            **({} if self.files is None else {"files": list(self.files)}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bump:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        scheme = data.get("scheme")
        return cls(
            address=str(data["address"]),
            module=str(data["module"]),
            target=Version.parse(str(data["to"])),
            tag=str(data["tag"]),
            allow_prerelease=bool(data.get("allow_prerelease", False)),
            scheme=None if scheme is None else TagScheme.from_key(str(scheme)),
            raise_floor=bool(data.get("raise_floor", False)),
            files=None if data.get("files") is None else tuple(str(f) for f in data["files"]),
        )


class StepState(enum.StrEnum):
    """Where one environment of a dependent's chain stands (``rollout.chain``)."""

    CURRENT = "current"  # runs what it should (the release's targets, or what the previous runs)
    OPEN = "open"  # its rollout PR is open
    NEXT = "next"  # its PR opens (or is refreshed) in this run
    HELD = "held"  # the previous environment's soak or post-merge checks are not done yet
    WAITING = "waiting"  # an earlier environment is not done yet
    FAILED = "failed"  # the post-merge checks of the previous environment failed: the chain stops


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChainStep:
    """One environment of a chain as the plan saw it.

    Attributes:
        env: environment name; state: see ``StepState``; reason: why (held, waiting, ...).
        versions: module -> lowest version its references in this environment are at now (on
            the base branch: git is the truth), as written.
        targets: module -> version this environment moves to in its step (empty when none).
        pr / pr_url: its open rollout PR, else the last merged one (``merged_at`` set).
        merged_at: ISO 8601 time the last rollout PR of this environment was merged.
        merge_sha: the merge commit of that PR on the base branch.
        checks: post-merge checks state of ``merge_sha`` (when the dependent asks for them).
        ready_at: ISO 8601 time the soak of this environment ends (when one is pending).
    """

    env: str
    state: StepState
    reason: str | None = None
    versions: Mapping[str, str] = dataclasses.field(default_factory=dict)
    targets: Mapping[str, str] = dataclasses.field(default_factory=dict)
    pr: int | None = None
    pr_url: str | None = None
    merged_at: str | None = None
    merge_sha: str | None = None
    checks: str | None = None
    ready_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, ``chain.steps[]``)."""
        return {
            "env": self.env,
            "state": self.state.value,
            "reason": self.reason,
            "versions": dict(self.versions),
            "targets": dict(self.targets),
            "pr": self.pr,
            "pr_url": self.pr_url,
            "merged_at": self.merged_at,
            "merge_sha": self.merge_sha,
            "checks": self.checks,
            "ready_at": self.ready_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChainStep:
        """Inverse of ``to_json``."""
        return cls(
            env=str(data["env"]),
            state=StepState(data["state"]),
            reason=data.get("reason"),
            versions={str(k): str(v) for k, v in (data.get("versions") or {}).items()},
            targets={str(k): str(v) for k, v in (data.get("targets") or {}).items()},
            pr=data.get("pr"),
            pr_url=data.get("pr_url"),
            merged_at=data.get("merged_at"),
            merge_sha=data.get("merge_sha"),
            checks=data.get("checks"),
            ready_at=data.get("ready_at"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Chain:
    """A dependent's environment chain (``rollout.chain``): every step, which one this plan
    works on, and what happens next.

    Attributes:
        steps: one per environment, in chain order.
        step: 1-based index of the environment the plan's action is for (None: none).
        next: one line saying what happens next and when ("open stage ...", "held until ...").
    """

    steps: tuple[ChainStep, ...]
    step: int | None = None
    next: str = ""

    @property
    def env(self) -> str | None:
        """The environment of the plan's action (None when there is none)."""
        return None if self.step is None else self.steps[self.step - 1].env

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, ``dependents[].chain``)."""
        return {
            "environments": [s.env for s in self.steps],
            "step": self.step,
            "env": self.env,
            "next": self.next,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Chain:
        """Inverse of ``to_json``."""
        return cls(
            steps=tuple(ChainStep.from_json(s) for s in data.get("steps") or ()),
            step=data.get("step"),
            next=str(data.get("next") or ""),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LockUpdate:
    """One provider entry of a dependent's ``.terraform.lock.hcl`` that the rollout's module
    updates need moved or added (``rollout.locks``; docs/rollout.md "Provider lock files").

    Attributes:
        path: the lock file (``live/prod/.terraform.lock.hcl``).
        provider: provider address ``HOST/NAMESPACE/TYPE``.
        current: the version locked now (None: the provider is not in the lock file).
        version: the version the entry moves to; None when it could not be computed (then
            ``reason`` says why and the PR asks for ``terraform providers lock``).
        entry: the ``provider`` block as ``terraform providers lock`` writes it (None with
            ``version``); apply puts exactly these bytes in the file.
        needed_by: what requires it, ``"modules/x v1.1.0: >= 0.14.2"`` each.
        reason: why the entry could not be computed (None when ``entry`` is set).
    """

    path: str
    provider: str
    current: str | None = None
    version: str | None = None
    entry: str | None = None
    needed_by: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, ``dependents[].locks[]``)."""
        return {
            "path": self.path,
            "provider": self.provider,
            "current": self.current,
            "version": self.version,
            "entry": self.entry,
            "needed_by": list(self.needed_by),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LockUpdate:
        """Inverse of ``to_json``. Raises KeyError on a wrong shape."""
        return cls(
            path=str(data["path"]),
            provider=str(data["provider"]),
            current=data.get("current"),
            version=data.get("version"),
            entry=data.get("entry"),
            needed_by=tuple(str(x) for x in data.get("needed_by") or ()),
            reason=data.get("reason"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DependentPlan:
    """Everything apply needs for one dependent repository.

    Attributes:
        repo: ``owner/name``. default_branch / base: its default branch and the PR base.
        action / reason: see ``Action``.
        refs: every reference to the catalog found (bumped or not).
        bumps: ``bump_files`` calls to make (grouped per module and target).
        files: paths whose bytes change.
        inputs: paths apply reads to redo the bumps (``files`` plus include sources).
        update / urgency / breaking: highest over the bumped references.
        automerge: the dependent's config allows merging without review.
        config: the dependent's effective ``.catalog-ops.yml``.
        existing_pr: number of the open rollout PR found while planning.
        errors: parse errors of its files (``path:line:col: message``); not fatal.
        files_scanned: candidate files read.
        codeowners: path of its CODEOWNERS file (GitHub's lookup order), None when absent.
        head: commit id of the base branch the plan read (None: not recorded). A later plan
            reuses this entry when the head is unchanged (``rollout.gather``); apply checks
            that the head is still this one before writing (``rollout.apply``).
        wave: name of the dependent's wave (None: no waves configured).
        state: where it stands in this release's rollout (``DependentState``), read from the
            forge while planning (``rollout.gather.rollout_facts``).
        next_step: what happens next and when, one line (``rollout.waves.schedule``).
        held_until: for ``hold``: the moment the hold ends by itself (ISO 8601 UTC), None when it
            waits for something else (an earlier wave).
        chain: the dependent's environment chain (``environments:`` in its config), else None;
            the action, bumps and files are then those of step ``chain.step`` only, on that
            environment's branch (``branch_for``).
        patched: breaking, and every breaking reference is ``RefPlan.patched``.
        migration: what the migration patches did in this dependent (``migrate.StepOutcome``,
            in order); apply redoes them on the base it finds and re-plans when they differ.
        locks: lock-file entries the updates need (``LockUpdate``; ``rollout.locks``).
        commands: decisions on commands found in its rollout PRs' comments (``rollout.commands``);
            apply acts on them and acknowledges each once.
        ignores: the ignores in force for it (from the product's state comments and honoured
            commands); apply carries them to the state comment of the PR it writes.
    """

    repo: str
    default_branch: str = ""
    base: str = ""
    action: Action = Action.NOTHING
    reason: str | None = None
    refs: tuple[RefPlan, ...] = ()
    bumps: tuple[Bump, ...] = ()
    files: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    update: Level = Level.NONE
    urgency: Urgency = Urgency.NORMAL
    breaking: bool = False
    automerge: bool = False
    config: DependentConfig = dataclasses.field(default_factory=DependentConfig)
    existing_pr: int | None = None
    errors: tuple[str, ...] = ()
    files_scanned: int = 0
    codeowners: str | None = None
    head: str | None = None
    wave: str | None = None
    state: DependentState = DependentState.NONE
    next_step: str = ""
    held_until: str | None = None
    chain: Chain | None = None

    @property
    def env(self) -> str | None:
        """The environment this plan's PR is for (None: no chain, one PR for the repository)."""
        return self.chain.env if self.chain is not None else None

    patched: bool = False
    migration: tuple[StepOutcome, ...] = ()

    @property
    def needs_hands(self) -> bool:
        """Some migration step could not be applied somewhere (docs/migrations.md)."""
        return any(o.status == "skipped" for o in self.migration)

    locks: tuple[LockUpdate, ...] = ()
    commands: tuple[Decision, ...] = ()
    ignores: tuple[Ignore, ...] = ()

    def honoured(self, command: Command) -> list[Decision]:
        """The honoured decisions of ``command`` in ``commands``."""
        return [d for d in self.commands if d.honoured and d.command == command.value]

    @property
    def weight(self) -> int:
        """Relative apply cost used for sharding (work items only)."""
        if self.action in (Action.OPEN, Action.UPDATE):
            return 4 + len(self.files)
        if self.action is Action.CLOSE:
            return 2
        return 0

    def digest(self) -> str:
        """Stable hash of what the PR should contain (bumps and the references they touch);
        stored in the PR marker so a rerun recognises an up-to-date PR without reading files."""
        payload: dict[str, Any] = {
            "bumps": sorted((b.address, b.to) for b in self.bumps),
            "refs": sorted(
                (r.written_in, r.line, r.current or "", r.target or "")
                for r in self.refs
                if r.action is RefAction.BUMP
            ),
            "base": self.base,
        }
        if self.env is not None:
            payload["env"] = self.env
        patches = sorted((r.written_in, r.line, list(r.patches)) for r in self.refs if r.patches)
        if patches:  # only then: digests of plans without patches stay as they were
            payload["patches"] = patches
        if self.locks:  # only then, so digests of plans without lock updates stay as they were
            payload["locks"] = sorted(
                (lk.path, lk.provider, lk.version or "", lk.entry or "") for lk in self.locks
            )
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "repo": self.repo,
            "default_branch": self.default_branch,
            "base": self.base,
            "action": self.action.value,
            "reason": self.reason,
            "update": self.update.value,
            "urgency": self.urgency.value,
            "breaking": self.breaking,
            "automerge": self.automerge,
            "existing_pr": self.existing_pr,
            "files": list(self.files),
            "inputs": list(self.inputs),
            "bumps": [b.to_json() for b in self.bumps],
            "refs": [r.to_json() for r in self.refs],
            "config": self.config.to_json(),
            "errors": list(self.errors),
            "files_scanned": self.files_scanned,
            "codeowners": self.codeowners,
            "head": self.head,
            "locks": [lk.to_json() for lk in self.locks],
            "digest": self.digest() if self.bumps else None,
            "wave": self.wave,
            "state": self.state.value,
            "next_step": self.next_step,
            "held_until": self.held_until,
            **({} if self.chain is None else {"chain": self.chain.to_json()}),
            "commands": [d.to_json() for d in self.commands],
            "ignores": [i.to_json() for i in self.ignores],
            **(
                {"patched": self.patched, "migration": [o.to_json() for o in self.migration]}
                if self.patched or self.migration
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DependentPlan:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        return cls(
            repo=str(data["repo"]),
            default_branch=str(data.get("default_branch", "")),
            base=str(data.get("base", "")),
            action=Action(data["action"]),
            reason=data.get("reason"),
            refs=tuple(RefPlan.from_json(r) for r in data.get("refs", ())),
            bumps=tuple(Bump.from_json(b) for b in data.get("bumps", ())),
            files=tuple(data.get("files", ())),
            inputs=tuple(data.get("inputs", ())),
            update=Level(data.get("update", "none")),
            urgency=Urgency(data.get("urgency", "normal")),
            breaking=bool(data.get("breaking", False)),
            automerge=bool(data.get("automerge", False)),
            config=DependentConfig.from_json(data.get("config") or {}),
            existing_pr=data.get("existing_pr"),
            errors=tuple(data.get("errors", ())),
            files_scanned=int(data.get("files_scanned", 0)),
            codeowners=data.get("codeowners"),
            head=data.get("head"),
            wave=data.get("wave"),
            state=DependentState(data.get("state") or "none"),
            next_step=str(data.get("next_step") or ""),
            held_until=data.get("held_until"),
            chain=Chain.from_json(data["chain"]) if data.get("chain") else None,
            patched=bool(data.get("patched", False)),
            migration=tuple(StepOutcome(**o) for o in data.get("migration") or ()),
            locks=tuple(LockUpdate.from_json(lk) for lk in data.get("locks") or ()),
            commands=tuple(Decision.from_json(d) for d in data.get("commands", ())),
            ignores=tuple(i for x in data.get("ignores", ()) if (i := Ignore.from_json(x)) is not None),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """A rollout plan (JSON schema ``PLAN_SCHEMA``; see docs/rollout.md).

    Attributes:
        catalog: catalog repository ``owner/name``.
        catalog_address: module address dependents use for it (``github.com/acme/modules``).
        release: the release being rolled out.
        releases: every known release of the catalog (newest first), with metadata.
        bump_all: bump every reference, not only those whose module changed.
        registry_modules: registry address -> catalog module dir aliases.
        branch: the rollout branch in every dependent.
        dependents: one entry per repository considered.
        generated_at: ISO 8601 UTC.
        compares: ``"<from tag>...<to tag>"`` -> the forge's compare view of the two versions
            (``forge.base.Repos.compare_url``), for every pair a PR spans.
        warnings: what limited the plan (e.g. the catalog could not be cloned, so what changed
            came from release metadata only; release metadata ignored, docs/security.md).
        rollout: the catalog's ``rollout:`` settings the plan was made with.
        waves: where each wave stands (``rollout.waves.WaveStatus.to_json``), in order.
        next_step: what the rollout does next and when, one line.
        migrations: the catalog's migration patches at the rolled-out tag (docs/migrations.md);
            ``RefPlan.patches`` name them by path.
    """

    catalog: str
    catalog_address: str
    release: CatalogRelease
    releases: tuple[CatalogRelease, ...]
    dependents: tuple[DependentPlan, ...]
    bump_all: bool = False
    registry_modules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    branch: str = ""
    generated_at: str = ""
    compares: Mapping[str, str] = dataclasses.field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    rollout: RolloutConfig = dataclasses.field(default_factory=RolloutConfig)
    waves: tuple[Mapping[str, Any], ...] = ()
    next_step: str = ""
    migrations: tuple[Migration, ...] = ()

    def counts(self) -> dict[str, int]:
        """Dependents per action."""
        out: dict[str, int] = {}
        for d in self.dependents:
            out[d.action.value] = out.get(d.action.value, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "schema": PLAN_SCHEMA,
            "generated_at": self.generated_at,
            "catalog": self.catalog,
            "catalog_address": self.catalog_address,
            "branch": self.branch,
            "release": self.release.tag,
            "bump_all": self.bump_all,
            "registry_modules": dict(self.registry_modules),
            "counts": self.counts(),
            "releases": [r.to_json() for r in self.releases],
            "dependents": [d.to_json() for d in self.dependents],
            "compares": dict(self.compares),
            "warnings": list(self.warnings),
            "rollout": self.rollout.to_json(),
            "waves": [dict(w) for w in self.waves],
            "next_step": self.next_step,
            **({"migrations": [m.to_json() for m in self.migrations]} if self.migrations else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """Load a plan document. Raises UsageError on an unknown schema or a wrong shape."""
        if not isinstance(data, Mapping) or data.get("schema") != PLAN_SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise UsageError(
                f"unsupported plan schema {found!r} (this catalog-ops reads schema {PLAN_SCHEMA})"
            )
        try:
            releases = tuple(CatalogRelease.from_json(r) for r in data["releases"])
            release = next(r for r in releases if r.tag == data["release"])
            return cls(
                catalog=str(data["catalog"]),
                catalog_address=str(data["catalog_address"]),
                release=release,
                releases=releases,
                dependents=tuple(DependentPlan.from_json(d) for d in data["dependents"]),
                bump_all=bool(data.get("bump_all", False)),
                registry_modules=dict(data.get("registry_modules") or {}),
                branch=str(data.get("branch") or branch_name(str(data["catalog"]))),
                generated_at=str(data.get("generated_at", "")),
                compares={str(k): str(v) for k, v in (data.get("compares") or {}).items()},
                warnings=tuple(str(w) for w in data.get("warnings") or ()),
                rollout=RolloutConfig.from_json(data.get("rollout")),
                waves=tuple(dict(w) for w in data.get("waves") or ()),
                next_step=str(data.get("next_step") or ""),
                migrations=tuple(Migration.from_json(m) for m in data.get("migrations") or ()),
            )
        except KeyError as exc:
            raise UsageError(
                f"malformed plan: missing key {exc.args[0]!r} (write plans with `catalog-ops rollout plan --out`)"
            ) from None
        except (StopIteration, TypeError, ValueError) as exc:
            raise UsageError(f"malformed plan: {exc}") from None


def branch_name(catalog: str) -> str:
    """The deterministic rollout branch for a catalog: ``catalog-ops/<owner>-<name>``."""
    return "catalog-ops/" + catalog.replace("/", "-").lower()


def env_branch_name(branch: str, env: str) -> str:
    """The rollout branch of environment ``env`` of a chain: ``<branch>--<env>``
    (``catalog-ops/acme-infrastructure-modules--stage``). A sibling of ``branch``, not below it:
    git cannot hold a branch ``a/b`` and a branch ``a/b/c`` at once."""
    return f"{branch}--{env}"


def branch_for(plan_branch: str, dep: DependentPlan) -> str:
    """The branch of ``dep``'s PR: the plan's branch, or its environment's (``env_branch_name``)."""
    return plan_branch if dep.env is None else env_branch_name(plan_branch, dep.env)


def effective_automerge(dep: DependentPlan) -> bool:
    """The plan's auto-merge decision, re-checked: a breaking update never merges by itself
    unless the dependent sets ``automerge_majors``, or it is patched (every breaking release
    covered by a migration patch that applied everywhere) and the dependent sets
    ``automerge_patched_majors`` (guards plans written by older versions); a PR whose migration
    patches could not be applied everywhere (``needs_hands``) never merges by itself."""
    if not dep.automerge or dep.needs_hands:
        return False
    if not dep.breaking or dep.config.automerge_majors:
        return True
    return dep.patched and not dep.needs_hands and dep.config.automerge_patched_majors


def module_name(module: str) -> str:
    """Short name of a catalog module dir for tables and PR text (``"(root)"`` for the root
    module, ``"."``; see ``module_key``)."""
    key = module_key(module)
    return "(root)" if key == ROOT_MODULE else key.rsplit("/", 1)[-1]
