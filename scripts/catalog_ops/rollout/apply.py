"""Apply a rollout plan: one PR per dependent per catalog, idempotent, paced, per-repo outcomes.

For each dependent of the plan (or of one shard) ``apply_plan`` does exactly one of:

* ``open`` / ``update``: find the open PR on the deterministic branch (``model.branch_name``).
  When its machine-readable marker carries the same change digest and its title/body are what
  the templates render now, nothing is written (``up_to_date``). Otherwise the files are read at
  the base tip, bumped in memory (``bump.bump_files``), committed as one commit on the base tip
  (the branch is created or force-moved: a rebuilt branch), and the PR is opened or its
  title/body refreshed (``opened`` / ``updated``). Then, when the dependent's policy allows it
  (security releases by default; majors only with ``automerge_majors``), auto-merge is enabled;
  where the forge refuses (``AutoMergeUnavailable``) and ``wait_and_merge`` is set, checks are
  polled until green (bounded by ``wait_timeout``) and the PR is merged. Otherwise reviews are
  requested from the configured reviewers or the CODEOWNERS of the changed files.
* ``close``: the open rollout PR is no longer needed; it is closed with a comment saying why.
* ``nothing`` / ``skip``: recorded as ``up_to_date`` / ``skipped`` with the plan's reason.

Write pacing belongs to the forge (the GitHub forge spaces content-creating requests by
``Settings.write_interval``, GitHub's guidance for secondary rate limits). The PR texts are
``rollout.prtext``'s; the commit + open-or-update is ``fanout.pulls.push_and_upsert``. A failure in one dependent is recorded as ``failed`` and the others
continue. ``dry_run`` reads but never writes, and prints each diff and PR text.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import difflib
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from catalog_ops.core.codeowners import owners_for
from catalog_ops.core.versions import parse_version
from catalog_ops.errors import AutoMergeUnavailable, CatalogOpsError, Conflict
from catalog_ops.fanout.pulls import push_and_upsert
from catalog_ops.forge.base import ApplyForge, ChecksState, PullRequest, PullState, authored_by
from catalog_ops.render.report import Outcome, OutcomeKind, Report
from catalog_ops.rollout.model import Action, DependentPlan, Plan, RefAction, effective_automerge, module_name
from catalog_ops.rollout.planner import bump_planned, stale_reason
from catalog_ops.rollout.prtext import (
    MARKER,
    check_templates,
    pr_marker,
    render_pr,
    render_superseded,
    template_env,
)
from catalog_ops.rollout.shard import dependents_of_shard

DEFAULT_LABELS = ("dependencies", "catalog-ops")
REPORT_COLUMNS = ("update", "urgency", "modules", "merge")
QUIET_REASONS = ("no reference to the catalog", "up to date")
COMMIT_TRAILER = "Catalog-Ops-Rollout"
FOREIGN_MARKER = "<!-- catalog-ops:rollout-foreign-commits -->"
FOREIGN_REASON = "branch has commits not made by catalog-ops"


def _has_foreign_head(pr: PullRequest, marker: dict[str, Any] | None) -> bool:
    """True when the PR's head is not the commit catalog-ops last put on the branch (the
    marker's ``head``): someone else pushed onto the rollout branch."""
    ours = str(marker.get("head") or "") if marker else ""
    return bool(ours and pr.head_sha and pr.head_sha != ours)


def labels_for(dep: DependentPlan) -> list[str]:
    """Labels of the dependent's PR: defaults, ``security``, ``breaking-change``, configured."""
    labels = list(DEFAULT_LABELS)
    if dep.urgency == "security":
        labels.append("security")
    if dep.breaking:
        labels.append("breaking-change")
    labels.extend(dep.config.labels)
    return list(dict.fromkeys(labels))


def split_owners(owners: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(users, teams)`` from CODEOWNERS/config owners: ``@user`` -> user, ``@org/team`` ->
    team ``org/team``; e-mail owners cannot be requested and are dropped."""
    users: list[str] = []
    teams: list[str] = []
    for owner in owners:
        name = owner.strip().lstrip("@")
        if not name or "@" in name:
            continue
        (teams if "/" in name else users).append(name)
    return list(dict.fromkeys(users)), list(dict.fromkeys(teams))


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """``git diff``-style unified diff of one file (``a/`` and ``b/`` prefixes)."""
    a = old.decode("utf-8", errors="replace").splitlines(keepends=True)
    b = new.decode("utf-8", errors="replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))


# --------------------------------------------------------------------------- apply
@dataclasses.dataclass(kw_only=True)
class ApplyOptions:
    """Knobs of ``apply_plan``.

    Attributes:
        dry_run: read only; print diffs and PR texts to ``out``.
        wait_and_merge: when auto-merge is unavailable, poll checks and merge when green.
        wait_timeout: seconds to poll per PR (bounded wait); poll_interval: seconds between polls.
        concurrency: dependents processed in parallel.
        template_dir: directory overriding ``pr_title.j2`` / ``pr_body.md.j2``.
        merge_method: ``squash`` | ``merge`` | ``rebase``.
        out: stream for dry-run output (diffs, PR texts).
        force: rebuild the branch even when someone else pushed commits onto it.
    """

    dry_run: bool = False
    wait_and_merge: bool = False
    wait_timeout: float = 600.0
    poll_interval: float = 15.0
    concurrency: int = 4
    template_dir: Path | None = None
    merge_method: str = "squash"
    out: TextIO | None = None
    force: bool = False


class _Apply:
    def __init__(
        self, forge: ApplyForge, plan: Plan, opts: ApplyOptions, sleep: Callable[[float], None]
    ) -> None:
        self.forge = forge
        self.plan = plan
        self.opts = opts
        self.sleep = sleep
        self.env = template_env(opts.template_dir)
        self.print_lock = threading.Lock()
        self.identity = forge.identity()

    def marker(self, dep: DependentPlan, pr: PullRequest | None) -> dict[str, Any] | None:
        """The marker of ``pr`` when the product wrote it (``prtext.pr_marker``), else None."""
        return pr_marker(
            pr, catalog=self.plan.catalog, branch=self.plan.branch, repo=dep.repo, identity=self.identity
        )

    def strangers_pr(self, dep: DependentPlan, pr: PullRequest | None) -> Outcome | None:
        """A skip when the open PR on the rollout branch was not opened by the product (a
        person's PR is never rewritten, closed or adopted, whatever its body says)."""
        if pr is None or authored_by(pr.author, self.identity):
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"PR #{pr.number} on {self.plan.branch} was opened by {pr.author or 'someone else'}, "
            f"not by catalog-ops ({self.identity}); not touching it",
            url=pr.url,
        )

    def emit(self, text: str) -> None:
        """Print dry-run text atomically (threads)."""
        if self.opts.out is None:
            return
        with self.print_lock:
            self.opts.out.write(text)
            self.opts.out.flush()

    def details(self, dep: DependentPlan, merge: str = "") -> dict[str, str]:
        """Report columns for a dependent: update type, urgency, modules, merge state."""
        mods = []
        for r in dep.refs:
            if r.action is RefAction.BUMP:
                item = f"{module_name(r.module)} {r.current}→{r.target}"
                if item not in mods:
                    mods.append(item)
        d = {
            "update": dep.update if dep.bumps else "",
            "urgency": dep.urgency if dep.bumps else "",
            "modules": ", ".join(mods),
        }
        if merge:
            d["merge"] = merge
        return d

    def run_one(self, dep: DependentPlan) -> Outcome:
        """Apply one dependent; never raises (failures become ``failed`` outcomes)."""
        try:
            if dep.action is Action.SKIP:
                return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=dep.reason or "skipped")
            if dep.action is Action.NOTHING:
                return Outcome(
                    subject=dep.repo,
                    kind=OutcomeKind.UP_TO_DATE,
                    reason=dep.reason,
                    details=self.details(dep),
                )
            if dep.action is Action.CLOSE:
                return self.close(dep)
            return self.open_or_update(dep)
        except CatalogOpsError as exc:
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=str(exc) or type(exc).__name__)
        except Exception as exc:  # one repo never aborts the run
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=f"{type(exc).__name__}: {exc}")

    def newer_pr(self, dep: DependentPlan, pr: PullRequest | None) -> Outcome | None:
        """A skip when the open PR was made by a rollout of a newer release than this plan's
        (an old plan, e.g. a re-run workflow, must not rewrite or close it)."""
        marker = self.marker(dep, pr)
        theirs = parse_version(str(marker.get("release", ""))) if marker else None
        if pr is None or theirs is None or not theirs > self.plan.release.version:
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"PR #{pr.number} rolls out the newer release {marker['release'] if marker else ''}; "
            f"this plan is for {self.plan.release.tag}",
            url=pr.url,
        )

    def close(self, dep: DependentPlan, pr: PullRequest | None = None) -> Outcome:
        """Close the open rollout PR with the superseded comment (unless a newer rollout owns it)."""
        pr = pr or self.forge.find_open_pull(dep.repo, self.plan.branch)
        if pr is None or self.marker(dep, pr) is None:
            return Outcome(subject=dep.repo, kind=OutcomeKind.UP_TO_DATE, reason=dep.reason or "up to date")
        newer = self.newer_pr(dep, pr)
        if newer is not None:
            return newer
        foreign = self.foreign_commits(dep, pr)
        if foreign is not None:
            return foreign
        comment = render_superseded(self.plan, dep.reason or "Nothing is left to update.", env=self.env)
        if self.opts.dry_run:
            self.emit(f"\n=== {dep.repo}: would close #{pr.number}\n{comment}\n")
            return Outcome(subject=dep.repo, kind=OutcomeKind.WOULD_CLOSE, reason=dep.reason, url=pr.url)
        # Record in the PR's own marker that catalog-ops closed it (a PR closed by a person is
        # not reopened for the same release; one closed as superseded may be).
        closed_body = MARKER.with_fields(pr.body or "", closed_by="catalog-ops")
        if closed_body != pr.body:
            self.forge.update_pull(dep.repo, pr.number, body=closed_body)
        self.forge.close_pull(dep.repo, pr.number, comment=comment)
        return Outcome(subject=dep.repo, kind=OutcomeKind.CLOSED, reason=dep.reason, url=pr.url)

    def foreign_commits(self, dep: DependentPlan, pr: PullRequest) -> Outcome | None:
        """A skip when the PR's head is not the commit catalog-ops last put on the branch (its
        marker's ``head``): someone pushed commits that a rebuild would force-push away. A
        comment says so on the PR, once (upserted by marker). ``--force`` rebuilds anyway."""
        marker = self.marker(dep, pr)
        if self.opts.force or not _has_foreign_head(pr, marker):
            return None
        ours = str(marker.get("head") or "") if marker else ""
        if not self.opts.dry_run:
            body = (
                f"{FOREIGN_MARKER}\ncatalog-ops did not update this PR for {self.plan.release.tag}: the branch "
                f"`{self.plan.branch}` has commits not made by catalog-ops (head `{pr.head_sha[:12]}`, "
                f"catalog-ops last pushed `{ours[:12]}`). Rebuilding it would discard them. Merge or close "
                "this PR, or rerun `catalog-ops rollout apply --force` to rebuild the branch.\n"
            )
            self.forge.upsert_comment(dep.repo, pr.number, marker=FOREIGN_MARKER, body=body)
        return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=FOREIGN_REASON, url=pr.url)

    def closed_by_person(self, dep: DependentPlan) -> Outcome | None:
        """A skip when the newest PR on the rollout branch was closed without merging by a
        person for this same release (or the same changes): like Renovate/Dependabot, a closed
        update is not reopened; a newer release opens again.

        Uses the forge's optional ``find_closed_pull(repo, head)`` when it has one, else the
        local forge's PR records; other forges cannot tell (the PR is opened again).
        """
        pr = self.forge.find_closed_pull(dep.repo, self.plan.branch)
        if pr is None or pr.state is not PullState.CLOSED:
            return None
        marker = self.marker(dep, pr)
        if not marker or marker.get("closed_by") or marker.get("catalog") != self.plan.catalog:
            return None
        if marker.get("release") != self.plan.release.tag and marker.get("digest") != dep.digest():
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"closed by a person; not reopening for {marker.get('release')} (#{pr.number})",
            url=pr.url,
        )

    def reviewers(self, dep: DependentPlan, paths: Sequence[str]) -> tuple[list[str], list[str]]:
        """``(users, teams)`` to request: configured reviewers, else CODEOWNERS of ``paths``."""
        if dep.config.reviewers:
            return split_owners(dep.config.reviewers)
        # The plan saw the tree: read the one CODEOWNERS file it found (or none) instead of
        # probing GitHub's three locations.
        data = self.forge.read_file(dep.repo, dep.codeowners, dep.base) if dep.codeowners else None
        text = data.decode("utf-8", errors="replace") if data else None
        return split_owners(owners_for(text, paths)) if text else ([], [])

    def open_or_update(self, dep: DependentPlan) -> Outcome:
        """Open, refresh or leave the dependent's PR (see the module docstring)."""
        forge, repo, branch = self.forge, dep.repo, self.plan.branch
        pr: PullRequest | None = forge.find_open_pull(repo, branch)
        stranger = self.strangers_pr(dep, pr)
        if stranger is not None:
            return stranger
        newer = self.newer_pr(dep, pr)
        if newer is not None:
            return newer
        if pr is not None:
            foreign = self.foreign_commits(dep, pr)
            if foreign is not None:
                return foreign
        else:
            closed = self.closed_by_person(dep)
            if closed is not None:
                return closed
        digest = dep.digest()
        marker = self.marker(dep, pr)
        labels = labels_for(dep)
        # --force over someone else's commits: the text may match, but the branch must be rebuilt.
        rebuild = pr is not None and self.opts.force and _has_foreign_head(pr, marker)
        if pr is not None and marker and marker.get("digest") == digest and not rebuild:
            title, body = render_pr(self.plan, dep, env=self.env, head=marker.get("head"))
            if pr.title == title and pr.body == body and pr.base == dep.base:
                return self.finish_existing(dep, pr, labels)
            # Same changes, new text (e.g. a newer release that does not touch these modules).
            if self.opts.dry_run:
                self.emit(
                    f"\n=== {repo}: would refresh the text of #{pr.number}\n--- title\n{title}\n--- body\n{body}\n"
                )
                return Outcome(
                    subject=repo, kind=OutcomeKind.WOULD_UPDATE, url=pr.url, details=self.details(dep)
                )
            pr = forge.update_pull(repo, pr.number, title=title, body=body, base=dep.base)
            assert pr is not None
            merge = self.after_write(dep, pr, labels, fresh=False)
            return Outcome(
                subject=repo,
                kind=OutcomeKind.UPDATED,
                reason="PR text refreshed",
                url=pr.url,
                details=self.details(dep, merge),
            )
        base_sha = forge.branch_sha(repo, dep.base)
        if base_sha is None:
            raise CatalogOpsError(f"base branch {dep.base!r} of {repo} does not exist")
        files = {}
        for path in dep.inputs or dep.files:
            data = forge.read_file(repo, path, base_sha)
            if data is not None:
                files[path] = data
        # The base may have moved since the plan: never move a reference backwards, and never
        # apply an update the plan did not classify.
        stale = stale_reason(files, dep)
        if stale is not None:
            return Outcome(subject=repo, kind=OutcomeKind.SKIPPED, reason=stale, url=pr.url if pr else None)
        changed, _outcomes, _errors = bump_planned(files, dep.bumps)
        changed = {p: c for p, c in changed.items() if files.get(p) != c}
        if not changed:
            if pr is not None:
                return self.close(
                    dataclasses.replace(dep, reason=f"{dep.base} already has these versions"), pr
                )
            return Outcome(
                subject=repo, kind=OutcomeKind.UP_TO_DATE, reason=f"{dep.base} already has these versions"
            )
        reviewers_u, reviewers_t = (
            ([], []) if effective_automerge(dep) else self.reviewers(dep, sorted(changed))
        )
        title, body = render_pr(self.plan, dep, env=self.env)
        message = f"{title}\n\n" + "\n".join(
            f"- {r.written_in}:{r.line}: {r.module or '(root)'} {r.current} -> {r.target}"
            for r in dep.refs
            if r.action is RefAction.BUMP
        )
        message += f"\n\n{COMMIT_TRAILER}: {self.plan.catalog} {self.plan.release.tag}\n"
        if self.opts.dry_run:
            diff = "".join(unified_diff(p, files[p], changed[p]) for p in sorted(changed))
            verb = "update" if pr else "open"
            self.emit(
                f"\n=== {repo}: would {verb} a PR {branch} -> {dep.base}\n--- diff\n{diff}--- title\n{title}\n--- body\n{body}\n"
            )
            kind = OutcomeKind.WOULD_UPDATE if pr else OutcomeKind.WOULD_OPEN
            return Outcome(subject=repo, kind=kind, url=pr.url if pr else None, details=self.details(dep))
        existing = pr
        pr, _head, opened = push_and_upsert(
            forge,
            repo,
            branch=branch,
            base=dep.base,
            base_sha=base_sha,
            message=message,
            changes=dict(changed),
            text=lambda head: render_pr(self.plan, dep, env=self.env, head=head),
            existing=existing,
            labels=labels,
            reviewers=reviewers_u,
            team_reviewers=reviewers_t,
        )
        if not opened:
            merge = self.after_write(dep, pr, labels, fresh=False, reviewers=(reviewers_u, reviewers_t))
            return Outcome(
                subject=repo, kind=OutcomeKind.UPDATED, url=pr.url, details=self.details(dep, merge)
            )
        merge = self.after_write(dep, pr, labels, fresh=True)
        return Outcome(subject=repo, kind=OutcomeKind.OPENED, url=pr.url, details=self.details(dep, merge))

    def finish_existing(self, dep: DependentPlan, pr: PullRequest, labels: list[str]) -> Outcome:
        """The PR already has the right content: only fill in labels / auto-merge if missing."""
        missing = [label for label in labels if label not in pr.labels]
        # Auto-merge was requested when the PR was opened or updated; if it is off now, the repo
        # does not allow it or a person turned it off: only --wait-and-merge acts on it again.
        need_merge = effective_automerge(dep) and not pr.auto_merge and self.opts.wait_and_merge
        if not missing and not need_merge:
            if pr.auto_merge:
                merge = "auto-merge enabled"
            elif effective_automerge(dep):
                merge = "auto-merge off (not allowed or turned off); --wait-and-merge merges when green"
            else:
                merge = "waiting for review"
            return Outcome(
                subject=dep.repo,
                kind=OutcomeKind.UP_TO_DATE,
                reason="PR is current",
                url=pr.url,
                details=self.details(dep, merge),
            )
        if self.opts.dry_run:
            return Outcome(
                subject=dep.repo, kind=OutcomeKind.WOULD_UPDATE, reason="labels/auto-merge", url=pr.url
            )
        if missing:
            self.forge.add_labels(dep.repo, pr.number, missing)
        merge = self.merge_policy(dep, pr) if need_merge else ""
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.UPDATED,
            reason="labels/auto-merge set",
            url=pr.url,
            details=self.details(dep, merge),
        )

    def after_write(
        self,
        dep: DependentPlan,
        pr: PullRequest,
        labels: list[str],
        *,
        fresh: bool,
        reviewers: tuple[list[str], list[str]] | None = None,
    ) -> str:
        """Labels/reviewers for an updated PR, then the merge policy; returns the merge state."""
        if not fresh:
            missing = [label for label in labels if label not in pr.labels]
            if missing:
                self.forge.add_labels(dep.repo, pr.number, missing)
            if reviewers and (reviewers[0] or reviewers[1]):
                users = [u for u in reviewers[0] if u not in pr.reviewers]
                teams = [t for t in reviewers[1] if t not in pr.reviewers]
                if users or teams:
                    self.forge.request_reviewers(dep.repo, pr.number, users=users, teams=teams)
        if effective_automerge(dep):
            if pr.auto_merge:
                return "auto-merge enabled"
            return self.merge_policy(dep, pr)
        who = ", ".join(pr.reviewers) if pr.reviewers else "no CODEOWNERS/reviewers configured"
        return f"waiting for review ({who})"

    def merge_policy(self, dep: DependentPlan, pr: PullRequest) -> str:
        """Enable auto-merge, or with ``--wait-and-merge`` wait for green checks and merge."""
        try:
            self.forge.enable_auto_merge(dep.repo, pr.number, method=self.opts.merge_method)
            return "auto-merge enabled"
        except AutoMergeUnavailable as exc:
            if not self.opts.wait_and_merge:
                return f"auto-merge unavailable ({exc}); needs a manual merge or --wait-and-merge"
        return self.wait_and_merge(dep, pr)

    def wait_and_merge(self, dep: DependentPlan, pr: PullRequest) -> str:
        """Poll checks every ``poll_interval`` seconds up to ``wait_timeout``; merge when green."""
        deadline = time.monotonic() + self.opts.wait_timeout
        while True:
            state = self.forge.checks_state(dep.repo, pr.number)
            if state in (ChecksState.SUCCESS, ChecksState.NONE):
                try:
                    self.forge.merge_pull(dep.repo, pr.number, method=self.opts.merge_method)
                except Conflict as exc:
                    raise CatalogOpsError(f"checks passed but the merge was refused: {exc}") from exc
                return (
                    "merged (checks green)"
                    if state is ChecksState.SUCCESS
                    else "merged (no checks configured)"
                )
            if state is ChecksState.FAILURE:
                raise CatalogOpsError(f"checks failed on #{pr.number}; not merged ({pr.url})")
            if time.monotonic() + self.opts.poll_interval > deadline:
                return f"checks still pending after {self.opts.wait_timeout:g}s; not merged"
            self.sleep(self.opts.poll_interval)


def apply_plan(
    forge: ApplyForge,
    plan: Plan,
    *,
    shard: tuple[int, int] | None = None,
    options: ApplyOptions | None = None,
    report: Report | None = None,
    progress: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Apply ``plan`` (or shard ``(K, N)`` of it) through ``forge``; returns the report.

    Never raises for a per-dependent problem (those are ``failed`` outcomes). ``progress`` is
    called with each outcome as it is recorded (from worker threads).
    """
    options = options or ApplyOptions()
    title = f"Rollout of {plan.catalog} {plan.release.tag}" + (
        f" (shard {shard[0]}/{shard[1]})" if shard else ""
    )
    if options.dry_run:
        title += " — dry run"
    report = report or Report(title, columns=REPORT_COLUMNS, quiet_reasons=QUIET_REASONS)
    runner = _Apply(forge, plan, options, sleep)
    check_templates(runner.env, plan)  # a template error fails the run once (UsageError)
    deps = dependents_of_shard(plan, shard)

    def one(dep: DependentPlan) -> Outcome:
        outcome = report.add(runner.run_one(dep))
        if progress:
            progress(outcome)
        return outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        list(pool.map(one, deps))
    return report
