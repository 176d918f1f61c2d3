"""Environment chains inside a dependent: one rollout PR per environment, in order (issue 19).

A dependent whose ``.catalog-ops.yml`` names ``environments:`` (ordered path globs, e.g. ``dev``
→ ``stage`` → ``prod``) gets its rollout one environment at a time (docs/rollout.md
"Environments"):

* Every reference belongs to the first environment whose globs match the file holding its
  version bytes (``DependentConfig.env_of``); references in no environment follow the first one.
* Step 1 (the first environment) moves to the release's targets, as a dependent without
  environments would (``planner.plan_dependent`` restricted to its files).
* Step k > 1 moves each module to exactly the version the previous environment runs now on the
  base branch — the lowest version its references to that module are at (git is the truth) —
  never to a version that environment did not run, even when a newer release exists. A module
  the previous environment does not use is not promoted (skipped with the reason).
* Step k > 1 opens only when the previous environment's last rollout PR is merged (its versions
  are on the base branch) and, when configured, the checks of that merge commit passed
  (``post_merge_checks``) and ``soak`` has elapsed since the merge (a security update skips the
  soak when ``security_skip_soak``). Failed post-merge checks stop the chain.
* One step at a time: the plan works on the first environment that is behind (or whose open PR
  is no longer needed, which is closed); later environments wait.

Pure: ``plan_chain`` decides from the dependent's files at the base branch, its config, the
facts read from the forge (``EnvFacts``: each environment's open and last merged rollout PR and
the post-merge checks; ``rollout.gather.chain_facts`` reads them) and the time ``now`` (injected).
No state is kept anywhere else, so any run (or two at once) continues the chain from what the
forge and git show.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping, Sequence

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.core import drift
from catalog_ops.core.schedule import parse_time
from catalog_ops.core.versions import TagScheme, Urgency, Version, parse_version
from catalog_ops.forge.base import ChecksState, PullRequest
from catalog_ops.rollout.commands import Ignore
from catalog_ops.rollout.model import (
    Action,
    Chain,
    ChainStep,
    DependentPlan,
    RefPlan,
    StepState,
    env_branch_name,
    module_name,
)
from catalog_ops.rollout.planner import PlanOptions, plan_dependent

CHAIN_COMPLETE = "chain complete"
"""How ``Chain.next`` starts when every environment runs what it should."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvFacts:
    """What the forge says about one environment's rollout branch (read by
    ``rollout.gather.chain_facts``; only PRs the product opened, with its marker).

    Attributes:
        env: environment name.
        open_pr: the open rollout PR on the environment's branch, None when there is none.
        merged_pr: the newest merged rollout PR on that branch (``merged_at``, ``merged_sha``
            set), None when there is none (or the newest closed one was closed unmerged).
        checks: combined state of the checks reported on ``merged_pr.merged_sha`` (read only
            when the dependent sets ``post_merge_checks``); None: not read.
    """

    env: str
    open_pr: PullRequest | None = None
    merged_pr: PullRequest | None = None
    checks: ChecksState | None = None


def env_scope(config: DependentConfig, env: str) -> Callable[[str], bool]:
    """Which files' references belong to ``env``'s step: those ``config.env_of`` puts in
    ``env``, plus, for the first environment, those in no environment."""
    first = config.env_names[0]

    def scope(path: str) -> bool:
        owner = config.env_of(path)
        return owner == env or (owner is None and env == first)

    return scope


def iso(value: _dt.datetime) -> str:
    """``value`` as ISO 8601 UTC with a ``Z`` suffix, second precision."""
    return value.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_versions(refs: Sequence[RefPlan], releases: Sequence[Version]) -> dict[str, Version]:
    """Module -> the lowest version the references in ``refs`` are at (as written: a pinned ref
    parsed, a registry constraint resolved to the newest of ``releases`` it admits,
    ``core.drift``). References without a readable version (branches, SHAs) are left out."""
    out: dict[str, Version] = {}
    for r in refs:
        if not r.current:
            continue
        v = parse_version(r.current)
        if v is None:
            try:
                v = drift.resolve_current(r.current, releases)
            except Exception:
                v = None
        if v is not None and (r.module not in out or v < out[r.module]):
            out[r.module] = v
    return out


def _versions_text(versions: Mapping[str, Version]) -> dict[str, str]:
    return {m: str(v) for m, v in sorted(versions.items())}


def _targets(plan: DependentPlan) -> dict[str, str]:
    return {b.module: b.tag for b in sorted(plan.bumps, key=lambda b: b.module)}


def _describe(targets: Mapping[str, str]) -> str:
    return ", ".join(f"{module_name(m)} {t}" for m, t in targets.items()) or "no change"


def gate(
    config: DependentConfig,
    prev: EnvFacts,
    *,
    urgency: Urgency,
    now: _dt.datetime,
) -> tuple[StepState | None, str | None, str | None]:
    """Whether the step after ``prev``'s environment may open now.

    Returns ``(None, None, None)`` when it may; else ``(HELD or FAILED, reason, ready_at)``:
    post-merge checks of the previous environment's merge commit not passed yet (HELD) or
    failed (FAILED, the chain stops), or its soak not over (HELD until ``ready_at``). Without a
    merged rollout PR of the previous environment (its versions were set by hand, or before the
    chain existed) there is no merge to check or soak from: the step may open.
    """
    merged = prev.merged_pr
    if merged is None:
        return None, None, None
    sha = (merged.merged_sha or "")[:12]
    if config.post_merge_checks:
        if prev.checks is ChecksState.FAILURE:
            return (
                StepState.FAILED,
                f"the checks of {prev.env}'s merge commit {sha} (#{merged.number}) failed: the chain stops "
                "until a new merge into that environment passes its checks",
                None,
            )
        if prev.checks is not ChecksState.SUCCESS:
            state = "pending" if prev.checks is ChecksState.PENDING else "not reported"
            return (
                StepState.HELD,
                f"waiting for the checks of {prev.env}'s merge commit {sha} (#{merged.number}): {state}",
                None,
            )
    if config.soak_seconds and not (config.security_skip_soak and urgency is Urgency.SECURITY):
        merged_at = parse_time(merged.merged_at)
        if merged_at is None:
            return StepState.HELD, f"the merge time of {prev.env}'s #{merged.number} is unknown", None
        ready = merged_at + _dt.timedelta(seconds=config.soak_seconds)
        if now < ready:
            return (
                StepState.HELD,
                f"soak until {iso(ready)} ({prev.env} runs these versions since {iso(merged_at)}, "
                f"#{merged.number})",
                iso(ready),
            )
    return None, None, None


def plan_chain(
    repo: str,
    files: Mapping[str, bytes],
    opts: PlanOptions,
    *,
    default_branch: str,
    config: DependentConfig,
    facts: Mapping[str, EnvFacts],
    now: _dt.datetime,
    ignores: Sequence[Ignore] = (),
) -> DependentPlan:
    """Plan one chain dependent (module docstring): the step to work on now and every step's state.

    Args:
        files: candidate files at the base branch (path -> bytes), as for ``plan_dependent``.
        opts: the plan's options (the release and its targets are step 1's).
        config: the dependent's config, with ``environments``.
        facts: environment name -> ``EnvFacts`` (missing names count as "no PR").
        now: the current time (aware), for the soak.
        ignores: the ignores in force from ``/catalog-ops`` commands in its environments' PRs
            (``rollout.commands``): every environment skips what they cover.

    Returns:
        A ``DependentPlan`` whose ``chain`` holds every step; its action, bumps and files are
        those of step ``chain.step`` (``open``/``update`` its PR, or ``close`` its PR that is
        no longer needed); without a step, ``hold`` when a step is held or failed (``gate``:
        ``held_until`` = the end of the soak, None when it waits for post-merge checks), else
        ``nothing`` (chain complete); ``chain.next`` is then the reason.
    """
    envs = config.env_names
    empty = [env for env in envs if not any(config.env_of(path) == env for path in files)]
    if empty:
        # a glob typo (``envs/prd/**``) would otherwise move that environment with the first one
        globs = "; ".join(f"{env}: {', '.join(dict(config.environments)[env])}" for env in empty)
        return DependentPlan(
            repo=repo,
            default_branch=default_branch,
            action=Action.SKIP,
            reason=f".catalog-ops.yml: environments match no file that can hold a reference ({globs}); "
            "fix the globs (paths relative to the repository root)",
            config=config,
        )
    known = [r.version for r in opts.releases if not r.prerelease and TagScheme().owns(r.version)]
    plans: list[DependentPlan] = []
    for k, env in enumerate(envs):
        step_opts = dataclasses.replace(opts, scope=env_scope(config, env))
        if k > 0:
            prev_versions = running_versions(plans[k - 1].refs, known)
            step_opts = dataclasses.replace(
                step_opts,
                ceilings=prev_versions,
                no_ceiling=f"{{module}} is not used in {envs[k - 1]}: nothing to promote from there",
            )
        plans.append(
            plan_dependent(
                repo, files, step_opts, default_branch=default_branch, config=config, ignores=ignores
            )
        )
    steps: list[ChainStep] = []
    active: int | None = None
    action = Action.NOTHING
    hold: str | None = None
    held_until: str | None = None
    for k, env in enumerate(envs):
        p = plans[k]
        f = facts.get(env) or EnvFacts(env=env)
        versions = _versions_text(running_versions(p.refs, known))
        shown = f.open_pr or f.merged_pr
        base = ChainStep(
            env=env,
            state=StepState.CURRENT,
            versions=versions,
            pr=shown.number if shown else None,
            pr_url=shown.url if shown else None,
            merged_at=f.merged_pr.merged_at if f.merged_pr else None,
            merge_sha=f.merged_pr.merged_sha if f.merged_pr else None,
            checks=f.checks.value if f.checks is not None else None,
        )
        behind = p.action is Action.OPEN
        if active is not None or hold is not None:
            blocker = (
                envs[active]
                if active is not None
                else next(s.env for s in steps if s.state in (StepState.HELD, StepState.FAILED))
            )
            if f.open_pr is not None:
                reason = f"the chain works on {blocker} first"
                steps.append(
                    dataclasses.replace(base, state=StepState.OPEN, reason=reason, targets=_targets(p))
                )
            elif p.refs:
                reason = f"waits for {blocker}"
                steps.append(
                    dataclasses.replace(base, state=StepState.WAITING, reason=reason, targets=_targets(p))
                )
            else:
                steps.append(
                    dataclasses.replace(base, reason="no reference to the catalog in this environment")
                )
            continue
        if not behind:
            if f.open_pr is not None and p.refs:
                active, action = k, Action.CLOSE
                steps.append(
                    dataclasses.replace(
                        base, state=StepState.NEXT, reason=f"{env} needs no update: close #{f.open_pr.number}"
                    )
                )
            else:
                why = None if p.refs else "no reference to the catalog in this environment"
                steps.append(dataclasses.replace(base, reason=why))
            continue
        if k > 0:
            state, why, ready_at = gate(
                config, facts.get(envs[k - 1]) or EnvFacts(env=envs[k - 1]), urgency=p.urgency, now=now
            )
            if state is not None:
                hold = f"step {k + 1} of {len(envs)} ({env}) {state.value}: {why}"
                held_until = ready_at
                steps.append(
                    dataclasses.replace(base, state=state, reason=why, ready_at=ready_at, targets=_targets(p))
                )
                continue
        active = k
        action = Action.UPDATE if f.open_pr is not None else Action.OPEN
        verb = "refresh" if f.open_pr is not None else "open"
        source = "the release" if k == 0 else f"what {envs[k - 1]} runs"
        steps.append(
            dataclasses.replace(
                base,
                state=StepState.NEXT,
                targets=_targets(p),
                reason=f"{verb} the {env} PR: {_describe(_targets(p))} ({source})",
            )
        )
    n = len(envs)
    if active is not None:
        p = plans[active]
        step = steps[active]
        chain = Chain(steps=tuple(steps), step=active + 1, next=f"step {active + 1} of {n}: {step.reason}")
        f = facts.get(envs[active]) or EnvFacts(env=envs[active])
        existing = f.open_pr.number if f.open_pr is not None else None
        if action is Action.CLOSE:
            return dataclasses.replace(
                p,
                action=Action.CLOSE,
                existing_pr=existing,
                reason=f"{envs[active]} already runs the versions it should",
                chain=chain,
            )
        return dataclasses.replace(p, action=action, existing_pr=existing, chain=chain)
    if hold is not None:
        reason = hold
    else:
        reason = f"{CHAIN_COMPLETE}: " + ", ".join(envs) + " run the versions they should"
    refs = tuple(sorted((r for p in plans for r in p.refs), key=lambda r: (r.path, r.line, r.col)))
    errors = plans[0].errors
    chain = Chain(steps=tuple(steps), step=None, next=reason)
    # A held (or failed) step is work the chain cannot do yet, not "up to date": ``hold``, with
    # ``held_until`` when the soak says when it ends (the plan's state, next step and summary
    # show it: rollout.waves). Apply writes nothing for it, as for ``nothing``.
    return DependentPlan(
        repo=repo,
        default_branch=default_branch,
        base=plans[0].base,
        action=Action.HOLD if hold is not None else Action.NOTHING,
        held_until=held_until,
        reason=reason if any(p.refs for p in plans) else "no reference to the catalog",
        refs=refs,
        config=config,
        errors=errors,
        files_scanned=len(files),
        chain=chain,
    )


def chain_branches(branch: str, config: DependentConfig) -> list[tuple[str, str]]:
    """``(env, branch)`` of every environment of ``config`` for the plan's ``branch``."""
    return [(env, env_branch_name(branch, env)) for env in config.env_names]
