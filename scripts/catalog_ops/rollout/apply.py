"""Apply a rollout plan: one PR per dependent per catalog, idempotent, paced, per-repo outcomes.

For each dependent of the plan (or of one shard) ``apply_plan`` does exactly one of:

* ``open`` / ``update``: find the open PR on the deterministic branch (``model.branch_name``).
  When its machine-readable marker carries the same change digest and its title/body are what
  the templates render now, nothing is written (``up_to_date``). Otherwise the files are read at
  the base tip, bumped in memory (``bump.bump_files``), committed as one commit on the base tip
  (the branch is created or force-moved: a rebuilt branch), and the PR is opened or its
  title/body refreshed (``opened`` / ``updated``). Then the merge step (``merge_step``): when the
  dependent's policy allows it (security releases by default; majors only with
  ``automerge_majors``) and the base branch has required checks, GitHub's native auto-merge is
  armed (GitHub waits for those checks); otherwise the merge gate (``rollout.gate``) decides: it
  merges only when the checks ran on the exact head catalog-ops pushed and passed, pinned to that
  head (``wait_and_merge`` polls up to ``wait_timeout``; ``rollout merge`` is the later pass).
  When the policy no longer allows it (a breaking update, ``automerge: never``), armed
  auto-merge is disarmed. Reviews are requested from the configured reviewers only (GitHub
  requests the CODEOWNERS itself); reviewers GitHub refuses (422) are dropped, the rest requested,
  and the refusal noted in a PR comment and the report; reruns request what is missing.
* ``close``: the open rollout PR is no longer needed; it is closed with a comment saying why.
* ``nothing`` / ``skip``: recorded as ``up_to_date`` / ``skipped`` with the plan's reason.

Write pacing belongs to the forge (the GitHub forge spaces content-creating requests by
``Settings.write_interval``, GitHub's guidance for secondary rate limits). The PR texts are
``rollout.prtext``'s. A failure in one dependent is recorded as ``failed`` and the others
continue.

Ownership and convergence: a rollout commit carries the trailers ``Catalog-Ops-Rollout:
<catalog>@<tag>``, ``Catalog-Ops-Digest: <digest>`` and ``Catalog-Ops-Base: <sha>`` and sits
directly on that base commit (``parse_own_commit``). A run killed between the commit and the PR
text leaves a tip that is ours but not the marker's ``head``: the next run completes it (reuses
the commit when it still fits, else rebuilds). A tip that is neither is someone else's: the
dependent fails (exit 1), the branch is left alone. Branch moves are compare-and-swap on the tip
read (``Branches.commit_files(expected_head=)``), the tip is re-read before the PR text is
written and both are re-read after, so concurrent applies of one plan or of consecutive releases
end in one PR on the newest release. ``dry_run`` reads but never writes, and prints each diff and PR text.
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

from catalog_ops.core.versions import Version, parse_version
from catalog_ops.errors import (
    AutoMergeUnavailable,
    CatalogOpsError,
    RateLimited,
    RefMoved,
    ReviewersRefused,
    TransientError,
)
from catalog_ops.forge.base import (
    ApplyForge,
    Commit,
    FileChange,
    MergeFacts,
    PullRequest,
    PullState,
    RolloutState,
    authored_by,
)
from catalog_ops.render.report import Outcome, OutcomeKind, Report
from catalog_ops.rollout import commands, gate
from catalog_ops.rollout.locks import apply_locks
from catalog_ops.rollout.model import (
    Action,
    DependentPlan,
    Plan,
    RefAction,
    branch_for,
    effective_automerge,
    module_name,
)
from catalog_ops.rollout.planner import bump_and_migrate, stale_reason
from catalog_ops.rollout.prtext import (
    MARKER,
    check_templates,
    closing_ignores,
    parse_marker,
    pr_marker,
    render_commands_comment,
    render_pr,
    render_superseded,
    template_env,
)
from catalog_ops.rollout.shard import dependents_of_shard

DEFAULT_LABELS = ("dependencies", "catalog-ops")
REPORT_COLUMNS = ("update", "urgency", "modules", "merge")
QUIET_REASONS = ("no reference to the catalog", "up to date")
COMMIT_TRAILER = "Catalog-Ops-Rollout"  # "<catalog>@<release tag>"
DIGEST_TRAILER = "Catalog-Ops-Digest"  # the dependent's change digest (DependentPlan.digest())
BASE_TRAILER = "Catalog-Ops-Base"  # the base commit the rollout commit was made on (its parent)
FOREIGN_MARKER = "<!-- catalog-ops:rollout-foreign-commits -->"
FOREIGN_REASON = "branch has commits not made by catalog-ops"
CAS_ATTEMPTS = 5  # re-reads after a refused compare-and-swap before the dependent fails
NEEDS_HANDS_LABEL = "needs-hands"  # a migration patch step was skipped somewhere (docs/migrations.md)
REVIEWERS_MARKER = "<!-- catalog-ops:reviewers-refused -->"
TRANSIENT_PASSES = 2  # extra passes for dependents failed by a transient forge error (5xx, limits)
TRANSIENT_BACKOFF = 30.0  # seconds before the first such pass; doubles for the next
FRESH_WAVE = 100  # dependents per batched freshness check (``_Apply.prefetch``): two GraphQL requests


def policy_of(dep: DependentPlan) -> gate.Policy:
    """The policy's verdict for ``dep``'s update (``effective_automerge``) with the reason when
    it does not allow an automatic merge."""
    if effective_automerge(dep):
        return gate.Policy(allowed=True, without_checks=dep.config.automerge_without_checks)
    cfg = dep.config
    if cfg.automerge == "never":
        why = "automerge: never in the dependent's .catalog-ops.yml"
    elif dep.needs_hands:
        why = "migration patches could not be applied everywhere (needs hands)"
    elif dep.breaking and dep.patched and not cfg.automerge_patched_majors:
        why = "breaking update with migration patches (automerge_patched_majors is off)"
    elif dep.breaking:
        why = "breaking update (automerge_majors is off)"
    else:
        why = f"{dep.urgency} {dep.update} update; the dependent's policy is automerge: {cfg.automerge}"
    return gate.Policy(allowed=False, reason=why)


@dataclasses.dataclass(frozen=True)
class OwnCommit:
    """A rollout commit catalog-ops made (recognised by ``parse_own_commit``).

    Attributes:
        sha: the commit id; catalog: catalog repo ("acme/modules"); release: the tag it rolls out;
        digest: the dependent's change digest; base: the base commit it sits on (its one parent).
    """

    sha: str
    catalog: str
    release: str
    digest: str
    base: str

    @property
    def version(self) -> Version | None:
        """The release as a version (None when the tag does not parse)."""
        return parse_version(self.release)


def commit_trailers(catalog: str, release: str, digest: str, base_sha: str) -> str:
    """The trailer paragraph of a rollout commit (git trailers: ``Key: value`` lines in the last
    paragraph of the message, ``git interpret-trailers``)."""
    return f"{COMMIT_TRAILER}: {catalog}@{release}\n{DIGEST_TRAILER}: {digest}\n{BASE_TRAILER}: {base_sha}\n"


def parse_own_commit(commit: Commit) -> OwnCommit | None:
    """The rollout commit ``commit`` is, or None when catalog-ops did not make it.

    Ownership is the trailer paragraph (``commit_trailers``) plus parentage: the commit has
    exactly one parent and it is the base commit its ``Catalog-Ops-Base`` trailer records. A
    commit someone pushed on top of a rollout commit has that commit as parent, not the recorded
    base, so it is never taken for ours (even when its message copies the trailers).
    """
    paragraphs = commit.message.strip().split("\n\n")
    fields: dict[str, str] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else ():
        key, sep, value = line.partition(":")
        if sep and key.strip() in (COMMIT_TRAILER, DIGEST_TRAILER, BASE_TRAILER):
            fields[key.strip()] = value.strip()
    rollout, base, digest = fields.get(COMMIT_TRAILER), fields.get(BASE_TRAILER), fields.get(DIGEST_TRAILER)
    if not rollout or not base or not digest or "@" not in rollout:
        return None
    if commit.parents != (base,):
        return None
    catalog, _, release = rollout.rpartition("@")
    return OwnCommit(sha=commit.sha, catalog=catalog, release=release, digest=digest, base=base)


@dataclasses.dataclass
class _Branch:
    """What one pass over a dependent read: the open PR, the branch tip, whose commit it is."""

    pr: PullRequest | None
    head: str | None
    own: OwnCommit | None
    marker: dict[str, Any] | None

    @property
    def marker_head(self) -> str:
        return str(self.marker.get("head") or "") if self.marker else ""

    @property
    def foreign(self) -> bool:
        """Someone else's commits: the tip is neither the commit the PR marker records nor a
        rollout commit of ours (a half-finished update's commit is ours: completed, not skipped)."""
        return bool(
            self.pr is not None
            and self.head
            and self.marker_head
            and self.head != self.marker_head
            and self.own is None
        )


def labels_for(dep: DependentPlan) -> list[str]:
    """Labels of the dependent's PR: defaults, ``security``, ``breaking-change``,
    ``needs-hands`` (a migration step could not be applied somewhere), configured."""
    labels = list(DEFAULT_LABELS)
    if dep.urgency == "security":
        labels.append("security")
    if dep.breaking:
        labels.append("breaking-change")
    if dep.needs_hands:
        labels.append(NEEDS_HANDS_LABEL)
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
        wait_and_merge: where GitHub's auto-merge does not wait for required checks, poll the
            merge gate until it merges or refuses (bounded by ``wait_timeout``).
        wait_timeout: seconds to poll per PR (bounded wait); poll_interval: seconds between polls.
        checks_grace: seconds after the head commit in which "no check reported yet" is pending
            (``gate.DEFAULT_GRACE``); after it, a head without checks is not merged.
        concurrency: dependents processed in parallel.
        template_dir: directory overriding ``pr_title.j2`` / ``pr_body.md.j2``.
        merge_method: ``squash`` | ``merge`` | ``rebase``.
        out: stream for dry-run output (diffs, PR texts).
        force: rebuild the branch even when someone else pushed commits onto it.
        time_budget: seconds this run may take (the job's remaining time): a dependent whose
            writes would not fit under GitHub's limits (``forge.github.pacing.Budget``) is
            deferred, untouched (``skipped``, reason ``deferred: ... resume after <time>``).
    """

    dry_run: bool = False
    wait_and_merge: bool = False
    wait_timeout: float = 600.0
    poll_interval: float = 15.0
    checks_grace: float = gate.DEFAULT_GRACE
    concurrency: int = 4
    template_dir: Path | None = None
    merge_method: str = "squash"
    out: TextIO | None = None
    force: bool = False
    time_budget: float | None = None


class _Apply:
    def __init__(
        self,
        forge: ApplyForge,
        plan: Plan,
        opts: ApplyOptions,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.forge = forge
        self.plan = plan
        self.opts = opts
        self.sleep = sleep
        self.clock = clock
        self.env = template_env(opts.template_dir)
        self.print_lock = threading.Lock()
        self.identity = forge.identity()
        # the batched freshness check (``prefetch``), by (repo, rollout branch): an environment
        # chain's steps are one repository on several branches
        self.fresh: dict[tuple[str, str], RolloutState] = {}
        self.fresh_lock = threading.Lock()
        # dependents whose action failed on a transient forge error (5xx, a connection error, a
        # rate limit that outlasted its retries): ``apply_plan`` runs them again at the end
        self.transient: set[str] = set()

    def prefetch(self, deps: Sequence[DependentPlan], *, merge_pass: bool = False) -> None:
        """The batched freshness check: one read of every dependent with work (base head, rollout
        branch tip, open and last closed PR, the input files at the planned head), when the
        forge has it (GitHub: ``forge.github.batch.read_rollout_states``, ``STATES_PER_QUERY``
        dependents a GraphQL query). Each dependent's first pass decides on these facts
        instead of its per-repository reads; a dependent the check could not read, and every
        pass after a refused compare-and-swap, reads the per-repository way. A failed check
        costs nothing but the fallback. The same request reads the merge gate's facts
        (``RolloutState.merge_policy`` / ``merge``: required checks, merge methods, the checks on
        the open PR's head), so the gate reads nothing more per PR. ``merge_pass``: the
        dependents ``rollout merge`` looks at (``merge_one``), without their input files."""
        reader = getattr(self.forge, "read_rollout_states", None)
        if merge_pass:
            work = [d for d in deps if d.bumps and d.action not in (Action.HOLD, Action.SKIP, Action.CLOSE)]
        else:
            work = [d for d in deps if d.action in (Action.OPEN, Action.UPDATE, Action.CLOSE)]
        if reader is None or not work:
            return
        by_branch: dict[str, list[DependentPlan]] = {}
        for d in work:
            by_branch.setdefault(self.branch(d), []).append(d)
        fresh: dict[tuple[str, str], RolloutState] = {}
        for branch, group in by_branch.items():
            seen: set[str] = set()
            wanted = []
            for d in group:
                if d.repo not in seen:  # one read per (repository, branch)
                    seen.add(d.repo)
                    paths = () if merge_pass else tuple(d.inputs or d.files)
                    wanted.append((d.repo, d.base, d.head, paths))
            try:
                fresh.update({(repo, branch): st for repo, st in reader(wanted, branch).items()})
            except CatalogOpsError:
                continue  # those dependents read the per-repository way
        with self.fresh_lock:
            self.fresh = fresh

    def take_fresh(self, dep: DependentPlan) -> RolloutState | None:
        """The batched facts of ``dep`` for its first pass only (later passes re-read)."""
        with self.fresh_lock:
            return self.fresh.pop((dep.repo, self.branch(dep)), None)

    def pushed_facts(self, fresh: RolloutState | None, pr: PullRequest, head: str) -> MergeFacts | None:
        """The merge gate's facts for a PR whose head ``head`` this pass has just pushed, from
        the freshness check's base-branch facts (required checks, merge methods, auto-merge
        allowed) without another read: nothing can have been reported on a commit made a moment
        ago, so its checks are taken as not reported yet (head age 0). With those facts the gate
        can only arm GitHub's auto-merge (which waits for the required checks itself) or wait;
        it never merges on them (``gate.decide``: no check and an age under the grace period is
        WAIT, a required check not reported is WAIT). None (the gate reads ``merge_facts``) when
        the check has no base facts, or when the grace period is 0 (then "no checks yet" would
        be a verdict, so it is read)."""
        if fresh is None or fresh.merge_policy is None:
            return None
        required, methods, auto_allowed = fresh.merge_policy
        if not required and self.opts.checks_grace <= 0:
            return None
        return MergeFacts(
            head_sha=head,
            state=PullState.OPEN,
            auto_merge=pr.auto_merge,
            checks=(),
            required=required,
            merge_methods=methods,
            head_age=0.0,
            native_auto_merge=auto_allowed,
        )

    @staticmethod
    def read_facts(fresh: RolloutState | None, pr: PullRequest) -> MergeFacts | None:
        """The merge gate's facts of the open ``pr`` as the freshness check read them (its head
        is the PR's head now), or None (the gate reads ``merge_facts``)."""
        if fresh is None or fresh.merge is None or fresh.open_pr is None:
            return None
        if fresh.open_pr.number != pr.number or fresh.merge.head_sha != pr.head_sha:
            return None
        return dataclasses.replace(fresh.merge, auto_merge=pr.auto_merge)

    def branch(self, dep: DependentPlan) -> str:
        """The rollout branch of ``dep``: the plan's, or its chain step's environment branch
        (``model.branch_for``)."""
        return branch_for(self.plan.branch, dep)

    def marker(self, dep: DependentPlan, pr: PullRequest | None) -> dict[str, Any] | None:
        """The marker of ``pr`` when the product wrote it (``prtext.pr_marker``: the trailing
        block of a PR the forge identity opened on the rollout branch, naming this catalog)."""
        return pr_marker(
            pr,
            catalog=self.plan.catalog,
            branch=self.branch(dep),
            repo=dep.repo,
            identity=self.identity,
            env=dep.env,
        )

    def strangers_pr(self, dep: DependentPlan, pr: PullRequest | None) -> Outcome | None:
        """A skip when the open PR on the rollout branch was not opened by the product (a
        person's PR is never rewritten, closed or adopted, whatever its body says)."""
        if pr is None or authored_by(pr.author, self.identity):
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"PR #{pr.number} on {self.branch(dep)} was opened by {pr.author or 'someone else'}, "
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
        """Report columns for a dependent: update type, urgency, modules (with the environment
        and step of a chain), merge state."""
        mods = []
        for r in dep.refs:
            if r.action is RefAction.BUMP:
                item = f"{module_name(r.module)} {r.current}→{r.target}"
                if item not in mods:
                    mods.append(item)
        where = ""
        if dep.chain is not None and dep.chain.step is not None:  # an environment's step (rollout.chain)
            where = f" in {dep.env} (step {dep.chain.step}/{len(dep.chain.steps)})"
        d = {
            "update": dep.update if dep.bumps else "",
            "urgency": dep.urgency if dep.bumps else "",
            "modules": ", ".join(mods) + (where if mods else ""),
        }
        if merge:
            d["merge"] = merge
        return d

    def run_one(self, dep: DependentPlan) -> Outcome:
        """Apply one dependent, then acknowledge the commands of its rollout PRs
        (``acknowledge``); never raises (failures become ``failed`` outcomes)."""
        outcome = self.run_one_action(dep)
        if self.opts.dry_run or not (dep.commands or dep.ignores):
            return outcome
        try:
            self.acknowledge(dep, outcome)
        except CatalogOpsError as exc:
            return dataclasses.replace(
                outcome,
                kind=OutcomeKind.FAILED,
                error=f"commands in its rollout PRs could not be acknowledged: {exc}",
            )
        return outcome

    def acknowledge(self, dep: DependentPlan, outcome: Outcome) -> None:
        """Acknowledge each command the plan decided, exactly once, and keep the ignores in force.

        Per PR holding decisions (and the open PR when ignores are in force): read its comments,
        take the product's state comments (``commands.read_state``: written by ``identity()``
        only) and skip the decisions already handled there (by an earlier or concurrent run);
        react ``+1`` to each honoured command (idempotent on GitHub: 200 when the reaction is
        there), then upsert the one state comment: handled ids, the log (a refusal's reply says
        why), the ignores. When the action failed, honoured commands stay unhandled (the next
        run acts again); refusals are recorded anyway.
        """
        failed = outcome.kind is OutcomeKind.FAILED
        by_pr: dict[int, list[commands.Decision]] = {}
        for d in dep.commands:
            by_pr.setdefault(d.pr, []).append(d)
        if dep.ignores and outcome.kind in (OutcomeKind.OPENED, OutcomeKind.UPDATED, OutcomeKind.UP_TO_DATE):
            pr = self.forge.find_open_pull(dep.repo, self.branch(dep))
            if pr is not None and self.marker(dep, pr) is not None:
                by_pr.setdefault(pr.number, [])
        for number, decisions in sorted(by_pr.items()):
            comments = self.forge.list_comments(dep.repo, number, limit=commands.MAX_COMMENTS)
            state = commands.read_state(comments, catalog=self.plan.catalog, identity=self.identity)
            new = [d for d in decisions if d.comment not in state.handled]
            carried = commands.merge_ignores(state.ignores, dep.ignores)
            if not new and len(carried) == len(state.ignores):
                continue  # handled already (a rerun, or a concurrent run)
            for d in new:
                if d.honoured and not failed:
                    self.forge.add_reaction(dep.repo, d.comment, "+1")
            after = commands.record(state, new, dep.ignores, failed=failed)
            body = render_commands_comment(self.plan, dep.repo, after, env=self.env)
            self.forge.upsert_comment(dep.repo, number, marker=commands.STATE_PREFIX, body=body)

    def rebase_wanted(self, dep: DependentPlan, pr: PullRequest | None) -> bool:
        """True when a writer asked ``/catalog-ops rebase`` on the open PR ``pr`` and no run has
        handled it yet (the product's state comment on ``pr`` does not list it)."""
        asked = [d for d in dep.honoured(commands.Command.REBASE) if pr is not None and d.pr == pr.number]
        if not asked or pr is None:
            return False
        comments = self.forge.list_comments(dep.repo, pr.number, limit=commands.MAX_COMMENTS)
        state = commands.read_state(comments, catalog=self.plan.catalog, identity=self.identity)
        return any(d.comment not in state.handled for d in asked)

    def run_one_action(self, dep: DependentPlan) -> Outcome:
        """The action of one dependent (``run_one`` without the acknowledgements)."""
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
            if dep.action is Action.HOLD:
                # held by its wave, a window, the minimum release age or a cap (rollout.waves):
                # nothing is written; a later run (the scheduled workflow) continues
                return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=dep.reason or "held")
            if dep.action is Action.CLOSE:
                return self.close(dep)
            return self.open_or_update(dep)
        except (TransientError, RateLimited) as exc:
            resume = getattr(exc, "resume_at", None)  # BudgetExhausted: the job has no time left
            if resume is None:  # apply_plan runs the dependent again after the others
                with self.fresh_lock:
                    self.transient.add(dep.repo)
                return Outcome(
                    subject=dep.repo, kind=OutcomeKind.FAILED, error=str(exc) or type(exc).__name__
                )
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(resume))
            return Outcome(
                subject=dep.repo,
                kind=OutcomeKind.SKIPPED,
                reason=f"deferred: GitHub's rate limits leave no room in this run; resume after {when}",
            )
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

    def read_branch(self, dep: DependentPlan, fresh: RolloutState | None = None) -> _Branch:
        """One read of the dependent's rollout state: open PR, branch tip, and whether the tip is
        a rollout commit of ours (``parse_own_commit``; one commit read when the tip is not the
        commit the PR marker records). With ``fresh`` (the batched freshness check) nothing is
        read: the check carries the PR and the tip commit with its message and parents."""
        if fresh is not None:
            pr = fresh.open_pr
            head = fresh.tip.sha if fresh.tip else None
        else:
            pr = self.forge.find_open_pull(dep.repo, self.branch(dep))
            head = self.forge.branch_sha(dep.repo, self.branch(dep))
        marker = self.marker(dep, pr)
        own = None
        ours = str(marker.get("head") or "") if marker else ""
        if head is not None and head != ours:  # the marker's head is ours by the PR's own record
            tip = fresh.tip if fresh is not None and fresh.tip is not None else None
            own = parse_own_commit(tip or self.forge.get_commit(dep.repo, head))
        return _Branch(pr=pr, head=head, own=own, marker=marker)

    def close(self, dep: DependentPlan, state: _Branch | None = None) -> Outcome:
        """Close the open rollout PR with the superseded comment (unless a newer rollout owns it)."""
        state = state or self.read_branch(dep, self.take_fresh(dep))
        pr = state.pr
        if pr is None or state.marker is None:
            return Outcome(subject=dep.repo, kind=OutcomeKind.UP_TO_DATE, reason=dep.reason or "up to date")
        newer = self.newer_pr(dep, pr) or self.newer_on_branch(dep, state)
        if newer is not None:
            return newer
        if state.foreign and not self.opts.force:
            return self.foreign_commits(dep, state)
        comment = render_superseded(
            self.plan,
            dep.reason or "Nothing is left to update.",
            repo=dep.repo,
            ignored=closing_ignores(dep, pr.number),
            env=self.env,
        )
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

    def newer_on_branch(self, dep: DependentPlan, state: _Branch) -> Outcome | None:
        """A skip when the branch tip is a rollout commit of a newer release of this catalog (a
        concurrent or half-finished rollout of that release owns the branch; its run, or its
        rerun, writes the PR text)."""
        own = state.own
        if own is None or own.catalog != self.plan.catalog:
            return None
        theirs = own.version
        if theirs is None or not theirs > self.plan.release.version:
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"branch holds the newer release {own.release}; this plan is for {self.plan.release.tag}",
            url=state.pr.url if state.pr else None,
        )

    def foreign_commits(self, dep: DependentPlan, state: _Branch) -> Outcome:
        """A failure: someone pushed commits onto the rollout branch that a rebuild would
        force-push away (the tip is neither the commit the PR marker records nor a rollout
        commit of ours). A comment says so on the PR, once (upserted by marker); the run exits
        non-zero so a person looks. ``--force`` rebuilds anyway."""
        pr = state.pr
        assert pr is not None and state.head is not None
        if not self.opts.dry_run:
            body = (
                f"{FOREIGN_MARKER}\ncatalog-ops did not update this PR for {self.plan.release.tag}: the branch "
                f"`{self.branch(dep)}` has commits not made by catalog-ops (head `{state.head[:12]}`, "
                f"catalog-ops last pushed `{state.marker_head[:12]}`). Rebuilding it would discard them. Merge or "
                "close this PR, or rerun `catalog-ops rollout apply --force` to rebuild the branch.\n"
            )
            self.forge.upsert_comment(dep.repo, pr.number, marker=FOREIGN_MARKER, body=body)
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.FAILED,
            error=f"{FOREIGN_REASON} (head {state.head[:12]}); merge or close #{pr.number}, or rerun with --force",
            url=pr.url,
        )

    def closed_by_person(self, dep: DependentPlan, fresh: RolloutState | None = None) -> Outcome | None:
        """A skip when the newest PR on the rollout branch was closed without merging by a
        person for this same release (or the same changes): like Renovate/Dependabot, a closed
        update is not reopened; a newer release opens again.

        Uses the forge's optional ``find_closed_pull(repo, head)`` when it has one, else the
        local forge's PR records; other forges cannot tell (the PR is opened again).
        """
        pr = (
            fresh.last_closed
            if fresh is not None
            else self.forge.find_closed_pull(dep.repo, self.branch(dep))
        )
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

    def book_writes(self, dep: DependentPlan, pr: PullRequest | None) -> None:
        """Book all of the dependent's content-creating requests in the forge's budget before
        the first (``forge.github.pacing.Budget.reserve``); raises ``BudgetExhausted`` (the
        dependent is deferred, untouched) when they would not fit before the job's deadline."""
        pacer = getattr(self.forge, "pacer", None)
        if pacer is None or not hasattr(pacer, "reserve"):
            return
        pacer.release()  # slots left over by the previous dependent of this thread
        # A new PR: branch + commit (one GraphQL request), PR, labels. An update: tree, commit
        # and updateRefs (a re-parented branch), the PR text with its labels (one
        # updatePullRequest; 2 requests when a label is new to the repository: booked so).
        n = 3 if pr is None else 5
        if dep.config.reviewers:
            n += 1
        if effective_automerge(dep):
            n += 1
        pacer.reserve(n)

    def reviewers(self, dep: DependentPlan) -> tuple[list[str], list[str]]:
        """``(users, teams)`` catalog-ops requests: the configured reviewers only. GitHub itself
        requests the CODEOWNERS of the changed files when the PR is opened ("Code owners are
        automatically requested for review when someone opens a pull request that modifies code
        that they own",
        https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners);
        the local forge does the same. No requests for a PR the policy merges by itself."""
        if effective_automerge(dep) or not dep.config.reviewers:
            return [], []
        return split_owners(dep.config.reviewers)

    def complete_reviewers(self, dep: DependentPlan, pr: PullRequest) -> str:
        """Request the configured reviewers the PR does not have yet; returns a report note
        ("" when nothing was refused).

        GitHub refuses the whole request with 422 when one of them cannot review (not a
        collaborator, the PR author, a team without access:
        https://docs.github.com/en/rest/pulls/review-requests#request-reviewers-for-a-pull-request);
        the forge then requests the others one by one and raises ``ReviewersRefused``. The
        refusal is noted in one marked PR comment; the next run tries the refused ones again.
        """
        users, teams = self.reviewers(dep)
        have = set(pr.reviewers)
        owner = dep.repo.split("/")[0]
        users = [u for u in users if u not in have]
        teams = [t for t in teams if t not in have and f"{owner}/{t.split('/')[-1]}" not in have]
        if not users and not teams:
            return ""
        try:
            self.forge.request_reviewers(dep.repo, pr.number, users=users, teams=teams)
            return ""
        except ReviewersRefused as exc:
            refused = ", ".join(f"@{name}" for name in exc.refused)
            body = (
                f"{REVIEWERS_MARKER}\ncatalog-ops could not request a review from {refused}: GitHub "
                f"refused it ({exc.message}). Reviews may only be requested from collaborators with "
                "access to this repository (and never from the PR author). The other configured "
                "reviewers were requested; the next rollout run tries again. CODEOWNERS are "
                "requested by GitHub itself.\n"
            )
            self.forge.upsert_comment(dep.repo, pr.number, marker=REVIEWERS_MARKER, body=body)
            return f"review request refused for {refused}"

    def open_or_update(self, dep: DependentPlan) -> Outcome:
        """Open, refresh or leave the dependent's PR (see the module docstring).

        Every branch move is a compare-and-swap on the tip this pass read; when it is refused
        (``RefMoved``: another run moved the branch) or the PR / branch changed under this pass
        after writing, the dependent is read again and decided again (``CAS_ATTEMPTS`` times).
        """
        wrote: list[str] = []  # PR texts this run wrote (a concurrent newer rollout may own them)
        fresh = self.take_fresh(dep)  # first pass only: a refused compare-and-swap re-reads
        for _attempt in range(CAS_ATTEMPTS):
            try:
                return self.open_or_update_once(dep, wrote, fresh)
            except RefMoved:
                fresh = None
                continue
        raise CatalogOpsError(
            f"branch {self.branch(dep)} kept moving under this run ({CAS_ATTEMPTS} reads): another run is "
            "writing it; rerun when it has finished"
        )

    def open_or_update_once(
        self, dep: DependentPlan, wrote: list[str], fresh: RolloutState | None = None
    ) -> Outcome:
        """One read-decide-write pass of ``open_or_update``. Raises RefMoved to ask for another.

        ``fresh``: the batched freshness check's facts (``prefetch``), used instead of the
        per-repository reads; every write is still a compare-and-swap on them."""
        forge, repo, branch = self.forge, dep.repo, self.branch(dep)
        state = self.read_branch(dep, fresh)
        pr = state.pr
        stranger = self.strangers_pr(dep, pr)
        if stranger is not None:
            return stranger
        newer = self.newer_pr(dep, pr) or self.newer_on_branch(dep, state)
        if newer is not None:
            if wrote and pr is not None and parse_marker(pr.body) == parse_marker(wrote[-1]):
                # This run wrote the PR text after a concurrent newer rollout moved the branch.
                return Outcome(
                    subject=repo,
                    kind=OutcomeKind.FAILED,
                    error=f"a concurrent rollout of a newer release moved {branch} while this run wrote the "
                    f"text of #{pr.number}; rerun that rollout to restore its text",
                    url=pr.url,
                )
            return newer
        rebase = self.rebase_wanted(dep, pr)
        if pr is not None:
            if state.foreign and not self.opts.force and not rebase:
                return self.foreign_commits(dep, state)
        elif not dep.honoured(commands.Command.RETRY):  # a writer's retry proposes it again
            closed = self.closed_by_person(dep, fresh)
            if closed is not None:
                return closed
        digest = dep.digest()
        marker = state.marker
        labels = labels_for(dep)
        # --force over someone else's commits: the text may match, but the branch must be rebuilt.
        # /catalog-ops rebase from a writer: rebuild from the current base tip (like --force).
        rebuild = pr is not None and ((self.opts.force and state.foreign) or rebase)
        consistent = pr is not None and state.head == state.marker_head
        if pr is not None and marker and marker.get("digest") == digest and consistent and not rebuild:
            title, body = render_pr(self.plan, dep, env=self.env, head=marker.get("head"))
            if pr.title == title and pr.body == body and pr.base == dep.base:
                return self.finish_existing(dep, pr, labels, facts=self.read_facts(fresh, pr))
            # Same changes, new text (e.g. a newer release that does not touch these modules).
            if self.opts.dry_run:
                self.emit(
                    f"\n=== {repo}: would refresh the text of #{pr.number}\n--- title\n{title}\n--- body\n{body}\n"
                )
                return Outcome(
                    subject=repo, kind=OutcomeKind.WOULD_UPDATE, url=pr.url, details=self.details(dep)
                )
            pr = self.write_text(dep, pr, state.head or "", title, body, wrote, labels)
            merge = self.after_write(dep, pr, labels, fresh=False, facts=self.read_facts(fresh, pr))
            return Outcome(
                subject=repo,
                kind=OutcomeKind.UPDATED,
                reason="PR text refreshed",
                url=pr.url,
                details=self.details(dep, merge),
            )
        base_sha = fresh.base_head if fresh is not None else forge.branch_sha(repo, dep.base)
        if base_sha is None:
            raise CatalogOpsError(f"base branch {dep.base!r} of {repo} does not exist")
        files = {}
        inputs = dep.inputs or dep.files
        if fresh is not None and base_sha == dep.head and all(p in fresh.files for p in inputs):
            # The base is still the commit the plan read: the check read the inputs there.
            files = {p: c for p, c in fresh.files.items() if p in inputs and c is not None}
        else:
            for path in inputs:
                data = forge.read_file(repo, path, base_sha)
                if data is not None:
                    files[path] = data
        # The base may have moved since the plan: never move a reference backwards, and never
        # apply an update the plan did not classify.
        stale = stale_reason(files, dep)
        if stale is not None:
            return Outcome(subject=repo, kind=OutcomeKind.SKIPPED, reason=stale, url=pr.url if pr else None)
        changed, _outcomes, _errors, migrated = bump_and_migrate(
            files, dep.bumps, dep.refs, self.plan.migrations
        )
        if changed:  # the planned lock entries go with the bumps, in the same commit
            changed.update(apply_locks(files, dep.locks))
        changed = {p: c for p, c in changed.items() if files.get(p) != c}
        if migrated is not None and tuple(migrated.outcomes) != dep.migration:
            # the patches would do something else on this base than the plan (and its PR body) says
            return Outcome(
                subject=repo,
                kind=OutcomeKind.SKIPPED,
                reason=f"the migration patches apply differently on {dep.base} than when planned: re-plan",
                url=pr.url if pr else None,
            )
        if not changed:
            if pr is not None:
                return self.close(
                    dataclasses.replace(dep, reason=f"{dep.base} already has these versions"), state
                )
            return Outcome(
                subject=repo, kind=OutcomeKind.UP_TO_DATE, reason=f"{dep.base} already has these versions"
            )
        title, body = render_pr(self.plan, dep, env=self.env)
        message = f"{title}\n\n" + "\n".join(
            f"- {r.written_in}:{r.line}: {r.module or '(root)'} {r.current} -> {r.target}"
            for r in dep.refs
            if r.action is RefAction.BUMP
        )
        message += "\n\n" + commit_trailers(self.plan.catalog, self.plan.release.tag, digest, base_sha)
        if self.opts.dry_run:
            diff = "".join(unified_diff(p, files[p], changed[p]) for p in sorted(changed))
            verb = "update" if pr else "open"
            self.emit(
                f"\n=== {repo}: would {verb} a PR {branch} -> {dep.base}\n--- diff\n{diff}--- title\n{title}\n--- body\n{body}\n"
            )
            kind = OutcomeKind.WOULD_UPDATE if pr else OutcomeKind.WOULD_OPEN
            return Outcome(subject=repo, kind=kind, url=pr.url if pr else None, details=self.details(dep))
        own = state.own
        if (
            own is not None
            and not rebuild
            and (own.catalog, own.release, own.digest, own.base)
            == (self.plan.catalog, self.plan.release.tag, digest, base_sha)
        ):
            head = own.sha  # a half-finished update (commit made, PR not written): complete it
        else:
            self.book_writes(dep, pr)
            head = forge.commit_files(
                repo,
                branch,
                parent_sha=base_sha,
                message=message,
                changes=[FileChange(p, changed[p]) for p in sorted(changed)],
                expected_head=state.head,
            )
        title, body = render_pr(self.plan, dep, env=self.env, head=head)
        if pr is not None:
            pr = self.write_text(dep, pr, head, title, body, wrote, labels)
            merge = self.after_write(dep, pr, labels, fresh=False, facts=self.pushed_facts(fresh, pr, head))
            return Outcome(
                subject=repo, kind=OutcomeKind.UPDATED, url=pr.url, details=self.details(dep, merge)
            )
        pr = forge.open_pull(
            repo,
            head=branch,
            base=dep.base,
            title=title,
            body=body,
            labels=labels,
        )
        wrote.append(body)
        self.verify(dep, pr, head, title, body)
        merge = self.after_write(dep, pr, labels, fresh=True, facts=self.pushed_facts(fresh, pr, head))
        return Outcome(subject=repo, kind=OutcomeKind.OPENED, url=pr.url, details=self.details(dep, merge))

    def write_text(
        self,
        dep: DependentPlan,
        pr: PullRequest,
        head: str,
        title: str,
        body: str,
        wrote: list[str],
        labels: Sequence[str] = (),
    ) -> PullRequest:
        """Set the PR's title/body/base for the branch tip ``head``, then re-read (``verify``).

        The tip is read right before writing: text is never written for a commit that is no
        longer the tip. Raises RefMoved when the branch or the text changed under this run.
        ``labels``: labels the PR must carry; where the forge writes text and labels in one
        request (GitHub: ``update_pull_text``, one ``updatePullRequest``) they go with the text,
        else ``after_write`` adds the missing ones."""
        if self.forge.branch_sha(dep.repo, self.branch(dep)) != head:
            raise RefMoved(f"branch {self.branch(dep)} of {dep.repo} moved before its PR text was written")
        together = getattr(self.forge, "update_pull_text", None)
        if together is not None:
            # added to the labels the PR has then (never a set read earlier: a person's label stays)
            updated = together(
                dep.repo, pr.number, title=title, body=body, base=dep.base, labels=list(labels)
            )
        else:
            updated = self.forge.update_pull(dep.repo, pr.number, title=title, body=body, base=dep.base)
        assert updated is not None
        wrote.append(body)
        self.verify(dep, updated, head, title, body)
        return updated

    def verify(self, dep: DependentPlan, pr: PullRequest, head: str, title: str, body: str) -> None:
        """Re-read after writing: the branch is still at ``head`` and the PR still carries this
        text (a concurrent run did not move or rewrite it). Raises RefMoved otherwise. One read
        where the forge reads both at once (GitHub: ``read_tip_and_pull``, one GraphQL query)."""
        both = getattr(self.forge, "read_tip_and_pull", None)
        if both is not None:
            tip, now = both(dep.repo, self.branch(dep), pr.number)
        else:
            tip = self.forge.branch_sha(dep.repo, self.branch(dep))
            now = None
        if tip != head:
            raise RefMoved(f"branch {self.branch(dep)} of {dep.repo} moved after its PR text was written")
        now = now or self.forge.get_pull(dep.repo, pr.number)
        if (now.title, now.body) != (title, body) or now.state is not PullState.OPEN:
            raise RefMoved(f"PR #{pr.number} of {dep.repo} changed after this run wrote it")

    def finish_existing(
        self, dep: DependentPlan, pr: PullRequest, labels: list[str], *, facts: MergeFacts | None = None
    ) -> Outcome:
        """The PR already has the right content: fill in missing labels and reviewers, and run
        the merge step (arm, gate, or disarm when the policy no longer allows it). ``facts``:
        the gate's facts from the freshness check (``read_facts``)."""
        missing = [label for label in labels if label not in pr.labels]
        if self.opts.dry_run:
            return Outcome(
                subject=dep.repo,
                kind=OutcomeKind.UP_TO_DATE if not missing else OutcomeKind.WOULD_UPDATE,
                reason="PR is current",
                url=pr.url,
                details=self.details(dep),
            )
        if missing:
            self.forge.add_labels(dep.repo, pr.number, missing)
        merge = self.after_write(dep, pr, labels, fresh=True, reviewers_known=True, facts=facts)
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.UPDATED if missing else OutcomeKind.UP_TO_DATE,
            reason="labels set" if missing else "PR is current",
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
        reviewers_known: bool = False,
        facts: MergeFacts | None = None,
    ) -> str:
        """Labels (for an updated PR), missing reviewers, then the merge step; returns the
        report's merge column. ``reviewers_known``: ``pr`` was read as it stands (its requested
        reviewers are current), not returned by a write GitHub may still be acting on.
        ``facts``: the merge gate's facts already known (``read_facts`` / ``pushed_facts``)."""
        if not fresh:
            missing = [label for label in labels if label not in pr.labels]
            if missing:
                self.forge.add_labels(dep.repo, pr.number, missing)
        note = self.complete_reviewers(dep, pr)
        merge = self.merge_step(dep, pr, read=not reviewers_known or bool(note), facts=facts)
        return f"{merge}; {note}" if note else merge

    def merge_step(
        self, dep: DependentPlan, pr: PullRequest, *, read: bool = True, facts: MergeFacts | None = None
    ) -> str:
        """Arm, gate or disarm (module docstring); returns the typed outcome text: "armed on
        GitHub (...)", "waiting for checks (...)", "merged after checks A, B passed at SHA",
        "not merged: ..." or "waiting for review (...)".

        ``read=False``: ``pr`` is as it stands on the forge (read, not returned by a write), so
        its reviewers are not read again, and a PR the policy merges that is already armed is
        reported armed without reading its merge facts: GitHub offers auto-merge only while
        required checks or reviews are still to come, and merges it once they pass
        (https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request).

        ``facts``: the gate's facts already read in the batched freshness check (or known for
        a head this pass pushed, ``pushed_facts``); None: read them now (``merge_facts``, one
        PR at a time). Polls of ``--wait-and-merge`` always read again."""
        policy = policy_of(dep)
        if not policy.allowed:
            if pr.auto_merge:
                self.forge.disable_auto_merge(dep.repo, pr.number)
                return f"auto-merge disarmed: {policy.reason}; waiting for review"
            if read:
                pr = self.forge.get_pull(dep.repo, pr.number)
            who = ", ".join(pr.reviewers) if pr.reviewers else "no reviewers requested"
            return f"waiting for review ({who})"
        if not read and pr.auto_merge:
            return "armed on GitHub (merges when its required checks pass)"
        marker = parse_marker(pr.body)
        expected = str(marker.get("head") or "") if marker else ""
        facts = facts or self.forge.merge_facts(dep.repo, pr.number)
        if facts.native_auto_merge and facts.required:
            names = ", ".join(facts.required)
            if facts.auto_merge:
                return f"armed on GitHub (merges when required checks {names} pass)"
            method = gate.pick_method(self.opts.merge_method, facts.merge_methods)
            if method is not None:
                try:
                    self.forge.enable_auto_merge(dep.repo, pr.number, method=method)
                    return f"armed on GitHub (merges when required checks {names} pass)"
                except AutoMergeUnavailable:
                    pass  # clean/unstable status or not allowed: the gate decides
        reader = getattr(self.forge, "read_rollout_states", None)

        def confirm() -> MergeFacts | None:
            """The gate's facts read again now, in one batched query where the forge has it
            (the PR's own base: its required checks)."""
            if reader is None:
                return None
            try:
                now = reader([(dep.repo, pr.base, None, ())], self.branch(dep)).get(dep.repo)
            except CatalogOpsError:
                return None
            return self.read_facts(now, pr)

        decision = gate.evaluate(
            self.forge,
            dep.repo,
            pr.number,
            policy=policy,
            expected_head=expected or None,
            grace=self.opts.checks_grace,
            method=self.opts.merge_method,
            wait=self.opts.wait_timeout if self.opts.wait_and_merge else 0.0,
            poll=self.opts.poll_interval,
            sleep=self.sleep,
            facts=facts,
            clock=self.clock,
            confirm=confirm,
        )
        text = decision.summary()
        if decision.verdict is gate.Verdict.WAIT:
            text += "; `rollout merge` merges it through the gate once they pass"
        return text

    def merge_one(self, dep: DependentPlan) -> Outcome:
        """``rollout merge`` for one dependent: the merge step on the plan's open PR, when the
        PR carries exactly the plan's changes (its marker's catalog, release and digest);
        never raises."""
        try:
            if dep.action is Action.HOLD:
                return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=dep.reason or "held")
            if not dep.bumps or dep.action in (Action.SKIP, Action.CLOSE):
                return Outcome(
                    subject=dep.repo, kind=OutcomeKind.UP_TO_DATE, reason=dep.reason or "nothing to merge"
                )
            fresh = self.take_fresh(dep)
            pr = fresh.open_pr if fresh is not None else self.forge.find_open_pull(dep.repo, self.branch(dep))
            stranger = self.strangers_pr(dep, pr)
            if stranger is not None:  # a person's PR with a copied marker is never merged
                return stranger
            marker = self.marker(dep, pr)
            if pr is None or not marker:
                return Outcome(subject=dep.repo, kind=OutcomeKind.UP_TO_DATE, reason="no open rollout PR")
            if marker.get("release") != self.plan.release.tag or marker.get("digest") != dep.digest():
                return Outcome(
                    subject=dep.repo,
                    kind=OutcomeKind.SKIPPED,
                    reason=f"PR #{pr.number} does not carry this plan's changes; run rollout apply first",
                    url=pr.url,
                )
            merge = self.merge_step(dep, pr, facts=self.read_facts(fresh, pr))
            kind = (
                OutcomeKind.UPDATED
                if merge.startswith(("merged", "auto-merge disarmed", "armed"))
                else OutcomeKind.UP_TO_DATE
            )
            return Outcome(
                subject=dep.repo,
                kind=kind,
                reason=merge.split(" (")[0],
                url=pr.url,
                details=self.details(dep, merge),
            )
        except CatalogOpsError as exc:
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=str(exc) or type(exc).__name__)
        except Exception as exc:  # one repo never aborts the run
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=f"{type(exc).__name__}: {exc}")


def merge_plan(
    forge: ApplyForge,
    plan: Plan,
    *,
    shard: tuple[int, int] | None = None,
    options: ApplyOptions | None = None,
    progress: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Report:
    """``rollout merge``: run the merge step (``_Apply.merge_step``: arm, gate, disarm) on the
    open rollout PR of every dependent of ``plan`` (or of shard ``(K, N)``) without writing
    branches or PR texts. Meant for a scheduled workflow after a fresh ``rollout plan`` (the plan
    carries the dependents' ``.catalog-ops.yml`` as it is now). Never raises per dependent.
    ``sleep``/``clock`` pace the ``--wait-and-merge`` polls as in ``apply_plan``."""
    options = options or ApplyOptions()
    title = f"Merge pass of {plan.catalog} {plan.release.tag}" + (
        f" (shard {shard[0]}/{shard[1]})" if shard else ""
    )
    report = Report(title, columns=REPORT_COLUMNS, quiet_reasons=("no open rollout PR", "nothing to merge"))
    runner = _Apply(forge, plan, options, sleep, clock)

    def one(dep: DependentPlan) -> Outcome:
        outcome = report.add(runner.merge_one(dep))
        if progress:
            progress(outcome)
        return outcome

    deps = dependents_of_shard(plan, shard)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        # One batched read of the open PRs and the gate's facts per wave (``prefetch``): a PR
        # whose checks are still running costs no request of its own.
        for start in range(0, len(deps), FRESH_WAVE):
            wave = deps[start : start + FRESH_WAVE]
            runner.prefetch(wave, merge_pass=True)
            list(pool.map(one, wave))
    return report


def apply_plan(
    forge: ApplyForge,
    plan: Plan,
    *,
    shard: tuple[int, int] | None = None,
    options: ApplyOptions | None = None,
    report: Report | None = None,
    progress: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Report:
    """Apply ``plan`` (or shard ``(K, N)`` of it) through ``forge``; returns the report.

    Never raises for a per-dependent problem (those are ``failed`` outcomes). A dependent failed
    by a transient forge error (``errors.TransientError``; ``RateLimited`` with no time to resume)
    runs again after the others, up to ``TRANSIENT_PASSES`` more times, ``TRANSIENT_BACKOFF``
    seconds (doubling) apart through ``sleep``; only its last outcome is recorded. ``progress`` is
    called with each outcome as it is recorded (from worker threads). ``sleep(seconds)`` and
    ``clock() -> monotonic seconds`` pace the ``--wait-and-merge`` polls (injectable: tests drive
    them with a fake clock, so no outcome depends on how loaded the machine is).
    """
    options = options or ApplyOptions()
    title = f"Rollout of {plan.catalog} {plan.release.tag}" + (
        f" (shard {shard[0]}/{shard[1]})" if shard else ""
    )
    if options.dry_run:
        title += " — dry run"
    report = report or Report(title, columns=REPORT_COLUMNS, quiet_reasons=QUIET_REASONS)
    runner = _Apply(forge, plan, options, sleep, clock)
    check_templates(runner.env, plan)  # a template error fails the run once (UsageError)
    deps = dependents_of_shard(plan, shard)
    pacer = getattr(forge, "pacer", None)
    if options.time_budget is not None and pacer is not None and hasattr(pacer, "set_deadline_in"):
        pacer.set_deadline_in(options.time_budget)  # waits that end later defer the dependent

    retry_later: list[DependentPlan] = []
    retry_lock = threading.Lock()
    final = TRANSIENT_PASSES == 0  # the last pass records every outcome, transient or not

    def one(dep: DependentPlan) -> Outcome:
        outcome = runner.run_one(dep)
        with runner.fresh_lock:
            transient = dep.repo in runner.transient
            runner.transient.discard(dep.repo)
        if transient and not final:
            with retry_lock:
                retry_later.append(dep)
            return outcome
        report.add(outcome)
        if progress:
            progress(outcome)
        return outcome

    def run_in_waves(pool: concurrent.futures.Executor, work: list[DependentPlan]) -> None:
        # The freshness check runs per wave of FRESH_WAVE dependents, right before their writes,
        # so its facts are minutes old, not hours (a paced rollout writes ~125 PRs an hour).
        for start in range(0, len(work), FRESH_WAVE):
            wave = work[start : start + FRESH_WAVE]
            runner.prefetch(wave)
            list(pool.map(one, wave))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        work = [d for d in deps if d.action in (Action.OPEN, Action.UPDATE, Action.CLOSE)]
        list(pool.map(one, [d for d in deps if d.action not in (Action.OPEN, Action.UPDATE, Action.CLOSE)]))
        run_in_waves(pool, work)
        # A dependent failed by a transient forge error (a 5xx on a write the transport may not
        # repeat blindly, a connection error, a rate limit that outlasted its retries) runs again
        # after the others, from a fresh read of its state: apply converges, so a second run
        # finishes what the first began (a branch gets its PR) and never duplicates it.
        for attempt in range(TRANSIENT_PASSES):
            if not retry_later:
                break
            final = attempt == TRANSIENT_PASSES - 1
            again = list(retry_later)
            retry_later.clear()
            sleep(TRANSIENT_BACKOFF * 2**attempt)
            run_in_waves(pool, again)
    return report
