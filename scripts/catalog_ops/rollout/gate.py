"""The merge gate: the one place where catalog-ops decides to merge a rollout PR by itself.

A PR is merged automatically only when, at merge time (rules of trust, issue 14):

1. the policy still allows it for this update: urgency, breaking, and the dependent's
   ``.catalog-ops.yml`` as it is now (the caller passes the verdict, ``Policy``);
2. the PR head is the commit catalog-ops pushed (``expected_head``) — commits of someone else are
   not merged unreviewed;
3. the dependent's checks ran on exactly that head and passed: the checks branch protection or
   rulesets require when there are any, otherwise every check run and commit status on the head.
   "Nothing reported yet" is pending for ``grace`` seconds after the head commit was made; after
   that a head without any check is "not merged: no checks ran" unless the dependent's config
   sets ``automerge_without_checks: true``;
4. the merge is pinned to that head (``sha``; GitHub answers 409 when the head moved) with a merge
   method the repository allows.

``decide`` is pure (``MergeFacts`` in, ``Decision`` out) and the same for every forge;
``evaluate`` reads the facts through ``Merges.merge_facts`` and carries the decision out.
Native auto-merge (GitHub ``enablePullRequestAutoMerge``) is used by ``rollout.apply`` only when the
base branch has required checks: GitHub then waits for them itself
(https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request:
"the pull request will merge automatically when all required reviews are met and all required
status checks have passed"). Without required checks GitHub answers "clean status" or "unstable
status" (it would merge at once), so the gate is the only way in.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Callable, Sequence

from catalog_ops.errors import Conflict, HeadMoved
from catalog_ops.forge.base import MERGE_METHODS, CheckResult, MergeFacts, Merges, PullState

DEFAULT_GRACE = 300.0
"""Seconds after the head commit during which "no check reported yet" still counts as pending."""


class Verdict(enum.StrEnum):
    """What the gate decided (and, after ``evaluate``, what happened)."""

    MERGE = "merge"  # decide: every condition holds now
    MERGED = "merged"  # evaluate: merged, pinned to the checked head
    WAIT = "waiting for checks"
    FAILED = "checks failed"
    NO_CHECKS = "no checks"
    POLICY = "policy"
    HEAD_MOVED = "head moved"
    REFUSED = "refused"  # the forge refused the merge (conflict, reviews, method)
    CLOSED = "closed"


NOT_MERGED = frozenset(
    {Verdict.FAILED, Verdict.NO_CHECKS, Verdict.POLICY, Verdict.HEAD_MOVED, Verdict.REFUSED, Verdict.CLOSED}
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policy:
    """The policy's verdict for this update now: ``allowed`` and, when not, why (e.g.
    ``"automerge: never in .catalog-ops.yml"``, ``"breaking update"``)."""

    allowed: bool
    reason: str = ""
    without_checks: bool = False  # the dependent's ``automerge_without_checks``


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """The gate's answer. ``checks``: the checks it looked at (required ones, or all);
    ``sha``: the head it judged; ``method``: the merge method to use; ``merged_sha``: the merge
    commit after ``evaluate`` merged."""

    verdict: Verdict
    sha: str
    checks: tuple[CheckResult, ...] = ()
    method: str | None = None
    reason: str = ""
    merged_sha: str | None = None

    @property
    def merged(self) -> bool:
        """True when ``evaluate`` merged the PR."""
        return self.verdict is Verdict.MERGED

    def summary(self) -> str:
        """One line for the report: ``merged after checks A, B passed at 1a2b3c4d5e6f``,
        ``waiting for checks (...)``, ``not merged: checks failed (A)``, ..."""
        short = self.sha[:12]
        names = ", ".join(c.name for c in self.checks)
        if self.verdict in (Verdict.MERGED, Verdict.MERGE):
            verb = "merged" if self.verdict is Verdict.MERGED else "mergeable"
            if not self.checks:
                return f"{verb} at {short} without checks (automerge_without_checks)"
            return f"{verb} after checks {names} passed at {short}"
        if self.verdict is Verdict.WAIT:
            return f"waiting for checks ({self.reason})"
        if self.verdict is Verdict.FAILED:
            return f"not merged: checks failed ({self.reason}) at {short}"
        if self.verdict is Verdict.NO_CHECKS:
            return f"not merged: no checks ran on {short}"
        return f"not merged: {self.verdict.value} ({self.reason})"


def pick_method(preferred: str, allowed: Sequence[str]) -> str | None:
    """``preferred`` when the repository allows it, else the first allowed of ``MERGE_METHODS``
    order (squash, merge, rebase preference), None when none is allowed."""
    if preferred in allowed:
        return preferred
    for m in ("squash", "merge", "rebase"):
        if m in allowed and m in MERGE_METHODS:
            return m
    return None


def decide(
    facts: MergeFacts,
    *,
    policy: Policy,
    expected_head: str | None = None,
    grace: float = DEFAULT_GRACE,
    method: str = "squash",
) -> Decision:
    """Pure merge decision for one PR (rules in the module docstring).

    Args:
        facts: the PR as the forge reports it now.
        policy: the policy's verdict for this update, read now.
        expected_head: the commit catalog-ops pushed (the PR marker's ``head``); None: any head.
        grace: seconds after the head commit in which a head with no check is still pending.
        method: preferred merge method; another allowed one is used when it is disabled.
    """
    sha = facts.head_sha
    if facts.state is not PullState.OPEN:
        return Decision(verdict=Verdict.CLOSED, sha=sha, reason=f"PR is {facts.state.value}")
    if not policy.allowed:
        return Decision(verdict=Verdict.POLICY, sha=sha, reason=policy.reason or "policy does not allow it")
    if expected_head and sha != expected_head:
        return Decision(
            verdict=Verdict.HEAD_MOVED,
            sha=sha,
            reason=f"head is {sha[:12]}, catalog-ops pushed {expected_head[:12]}",
        )
    by_name = {c.name: c for c in facts.checks}
    if facts.required:
        looked = tuple(by_name.get(n) or CheckResult(name=n, state="missing") for n in facts.required)
    else:
        looked = tuple(sorted(facts.checks, key=lambda c: c.name))
    failed = [c.name for c in looked if c.state == "failure"]
    if failed:
        return Decision(verdict=Verdict.FAILED, sha=sha, checks=looked, reason=", ".join(failed))
    waiting = [c.name for c in looked if c.state in ("pending", "missing")]
    if waiting:
        what = ", ".join(
            f"{c.name} {'not reported yet' if c.state == 'missing' else 'pending'}"
            for c in looked
            if c.name in waiting
        )
        return Decision(verdict=Verdict.WAIT, sha=sha, checks=looked, reason=what)
    if not looked:
        if facts.head_age < grace:
            return Decision(
                verdict=Verdict.WAIT,
                sha=sha,
                reason=f"none reported yet on {sha[:12]}; grace {grace:g}s",
            )
        if not policy.without_checks:
            return Decision(verdict=Verdict.NO_CHECKS, sha=sha, reason=f"none reported after {grace:g}s")
    chosen = pick_method(method, facts.merge_methods)
    if chosen is None:
        return Decision(
            verdict=Verdict.REFUSED, sha=sha, checks=looked, reason="the repository allows no merge method"
        )
    return Decision(verdict=Verdict.MERGE, sha=sha, checks=looked, method=chosen)


def evaluate(
    forge: Merges,
    repo: str,
    number: int,
    *,
    policy: Policy,
    expected_head: str | None = None,
    grace: float = DEFAULT_GRACE,
    method: str = "squash",
    wait: float = 0.0,
    poll: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    facts: MergeFacts | None = None,
    clock: Callable[[], float] = time.monotonic,
    confirm: Callable[[], MergeFacts | None] | None = None,
) -> Decision:
    """Read the facts, decide, and merge pinned to the judged head when the gate says so.

    ``wait``: seconds to keep polling (every ``poll`` seconds) while the verdict is WAIT;
    0 decides once. Never merges anything but ``Decision.sha``: a head that moves between the
    check and the merge gives HEAD_MOVED (GitHub 409, ``HeadMoved``). Other refusals of the
    forge (405 conflict, missing review) give REFUSED with its message. ``facts``: an earlier
    read (used for the first decision instead of reading again; a MERGE verdict on it is
    confirmed on facts read again now, so only the merges cost a read: ``confirm()``, a cheaper
    read of the same facts when the caller has one, else ``merge_facts``; None from ``confirm``
    reads ``merge_facts``). ``sleep(seconds)`` and
    ``clock() -> monotonic seconds`` pace the polls (tests inject a fake clock). Raises ForgeError
    for failures to read.
    """
    deadline = clock() + wait
    earlier = facts is not None
    while True:
        facts = facts or forge.merge_facts(repo, number)
        decision = decide(facts, policy=policy, expected_head=expected_head, grace=grace, method=method)
        if decision.verdict is Verdict.MERGE and earlier:
            # facts read earlier (the batched freshness check, minutes before a paced wave gets
            # here) decide waits and refusals; a merge is decided on facts read now (a check
            # re-run since may have failed, a required check may have been added)
            earlier, facts = False, (confirm() if confirm is not None else None)
            continue
        if decision.verdict is Verdict.WAIT and clock() + poll <= deadline:
            sleep(poll)
            facts = None
            continue
        break
    if decision.verdict is not Verdict.MERGE:
        return decision
    assert decision.method is not None
    try:
        merged = forge.merge_pull(repo, number, method=decision.method, sha=decision.sha)
    except HeadMoved as exc:
        return dataclasses.replace(decision, verdict=Verdict.HEAD_MOVED, reason=str(exc))
    except Conflict as exc:
        return dataclasses.replace(decision, verdict=Verdict.REFUSED, reason=str(exc))
    return dataclasses.replace(decision, verdict=Verdict.MERGED, merged_sha=merged)
