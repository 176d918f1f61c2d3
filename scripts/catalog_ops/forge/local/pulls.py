"""Pull requests and merges in the local forge (``Pulls``, ``Merges``).

Checks of a PR are run by the CI simulator (``catalog_ops.forge.local.checks.LocalChecks``) on
an export of the PR head; results are cached per head commit in the record.

The local CI runs only when work asks for it: ``run_checks`` (``forge checks``),
``rerun_checks`` (``forge checks --rerun``), ``enable_auto_merge``, ``process_auto_merges``,
``merge_facts`` (the merge gate of ``rollout apply``/``rollout merge``) and ``merge_pull`` of a
PR whose base requires checks. ``checks_state`` is a read, like GitHub's: the recorded result on
the head, ``PENDING`` while the CI has not run on it (a check suite still queued after a push) —
a ``rollout plan`` reads it and never starts a run.

Auto-merge: ``enable_auto_merge`` records the request and immediately evaluates the checks;
if they ran on the head and passed the PR is merged with the requested method, pinned to that
head. ``run_checks`` and ``process_auto_merges()`` do the same for PRs whose head moved later.
A repository whose record says ``ci: false`` never reports a check (``ChecksState.NONE``): its
armed PRs are never merged. ``merge_facts`` gives the merge gate (``rollout.gate``) the check
``local-checks`` on the head; the local CI runs synchronously, so once read nothing is left
"to be reported" (``head_age`` is infinite). ``approve`` records a review (``forge approve``).
Merge and squash commits get GitHub's subjects (``merge_subjects``).

Branch protection (the record's ``repo.protection``, ``{branch: {"contexts": [check, ...]}}``,
the emulator's model of GitHub's "Require status checks before merging"): ``merge_pull`` into a
protected branch refuses, like GitHub's 405, unless every required check passed on the head
(the local CI reports one check, ``local-checks``; any other name is never reported, so it
blocks, as a required check that never reports does on GitHub); ``merge_facts`` reports them as
``required``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import AutoMergeUnavailable, Conflict, HeadMoved, NotFound
from catalog_ops.forge.base import (
    GITHUB_MERGE_SUBJECTS,
    MERGE_METHODS,
    CheckResult,
    ChecksState,
    MergeFacts,
    MergeSubjects,
    PullRequest,
    PullState,
    check_merge_method,
)
from catalog_ops.forge.local.checks import OUTPUT_TAIL, LocalChecks
from catalog_ops.forge.local.repos import LocalRepos
from catalog_ops.forge.local.store import now, take_number

LOCAL_CHECK = "local-checks"
"""The name of the one check the local CI reports (in ``merge_facts`` and branch protection)."""
MAX_ATTEMPTS = 50
"""Runs of the checks on one head at most: GitHub's "A workflow run can be re-run a maximum of
50 times" (https://docs.github.com/en/actions/managing-workflow-runs/re-running-workflows-and-jobs)."""


class LocalPulls(LocalRepos):
    """Pull request and merge operations over a ``LocalStore``; ``checks`` runs PR checks."""

    merge_subjects: MergeSubjects = GITHUB_MERGE_SUBJECTS
    checks: LocalChecks

    # --- pull requests ----------------------------------------------------------------------
    def _pull_from(self, repo: str, rec: Mapping[str, Any]) -> PullRequest:
        head_sha = rec.get("head_sha") or ""
        if rec["state"] == "open":
            head_sha = gitutil.rev_parse(self._git_dir(repo), f"refs/heads/{rec['head']}") or head_sha
        return PullRequest(
            repo=repo,
            number=rec["number"],
            title=rec["title"],
            body=rec["body"],
            head=rec["head"],
            base=rec["base"],
            head_sha=head_sha,
            state=PullState(rec["state"]),
            url=self._url(repo, "pull", rec["number"]),
            labels=tuple(rec["labels"]),
            reviewers=tuple(rec["reviewers"]) + tuple(rec["team_reviewers"]),
            assignees=tuple(rec["assignees"]),
            auto_merge=bool(rec["auto_merge"]),
            merge_method=rec.get("merge_method"),
            merged_sha=rec.get("merged_sha"),
            created_at=rec.get("created_at") or "",
            merged_at=rec.get("merged_at") or rec.get("closed_at") if rec["state"] == "merged" else None,
        )

    @staticmethod
    def _find_pull(data: Mapping[str, Any], number: int, repo: str) -> dict[str, Any]:
        for rec in data["pulls"]:
            if rec["number"] == number:
                return rec
        raise NotFound(f"pull request #{number} not found in {repo}")

    def _team(self, repo: str, team: str) -> str:
        return team if "/" in team else f"{repo.split('/')[0]}/{team}"

    def open_pull(
        self,
        repo: str,
        *,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        team_reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> PullRequest:
        """Open a PR (or update the open one for ``head``).

        Raises NotFound when ``head`` or ``base`` does not exist, Conflict when ``head`` has no
        commits that ``base`` lacks (GitHub: "No commits between base and head").
        """
        self._count("open_pull", write=True)
        gd = self._git_dir(repo)
        head_sha = gitutil.rev_parse(gd, f"refs/heads/{head}")
        base_sha = gitutil.rev_parse(gd, f"refs/heads/{base}")
        if head_sha is None:
            raise NotFound(f"head branch {head!r} not found in {repo}")
        if base_sha is None:
            raise NotFound(f"base branch {base!r} not found in {repo}")
        # Like GitHub, the CODEOWNERS (of the base branch) of the changed files are requested
        # when a PR is opened (about-code-owners; the author is never requested).
        owners: tuple[str, ...] = ()
        if not any(p["state"] == "open" and p["head"] == head for p in self.load_record(repo)["pulls"]):
            text = self.codeowners(repo, base_sha)
            if text:
                from catalog_ops.core.codeowners import owners_for

                owners = owners_for(text, gitutil.changed_paths(gd, base_sha, head_sha))
        with self._edit(repo) as data:
            existing = next((p for p in data["pulls"] if p["state"] == "open" and p["head"] == head), None)
            if existing is None:
                if gitutil.is_ancestor(gd, head_sha, base_sha):
                    raise Conflict(f"No commits between {base} and {head} in {repo}")
                number = take_number(data)
                existing = {
                    "number": number,
                    "title": title,
                    "body": body,
                    "head": head,
                    "base": base,
                    "head_sha": head_sha,
                    "state": "open",
                    "labels": [],
                    "reviewers": [],
                    "team_reviewers": [],
                    "assignees": [],
                    "auto_merge": False,
                    "merge_method": None,
                    "merged_sha": None,
                    "merge_base": None,
                    "created_at": now(),
                    "updated_at": now(),
                    "closed_at": None,
                    "checks": None,
                }
                data["pulls"].append(existing)
                for owner in owners:
                    name = owner.lstrip("@")
                    if name and "@" not in name:
                        target = existing["team_reviewers"] if "/" in name else existing["reviewers"]
                        self._add_unique(target, [name])
            else:
                existing.update(title=title, body=body, base=base, updated_at=now())
            self._add_unique(existing["labels"], labels)
            self._add_unique(existing["reviewers"], reviewers)
            self._add_unique(existing["team_reviewers"], [self._team(repo, t) for t in team_reviewers])
            self._add_unique(existing["assignees"], assignees)
            return self._pull_from(repo, existing)

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """See ``Forge.get_pull``."""
        self._count("get_pull")
        data = self.load_record(repo)
        return self._pull_from(repo, self._find_pull(data, number, repo))

    def find_open_pull(self, repo: str, head: str) -> PullRequest | None:
        """The open PR for ``head`` or None."""
        self._count("find_open_pull")
        data = self.load_record(repo)
        for rec in data["pulls"]:
            if rec["state"] == "open" and rec["head"] == head:
                return self._pull_from(repo, rec)
        return None

    def list_open_pulls(self, repo: str, *, limit: int = 100) -> list[PullRequest]:
        """Open PRs of ``repo``, at most ``limit``, newest first (like GitHub's list)."""
        self._count("list_open_pulls")
        recs = [rec for rec in self.load_record(repo)["pulls"] if rec["state"] == "open"]
        recs.sort(key=lambda rec: int(rec["number"]), reverse=True)
        return [self._pull_from(repo, rec) for rec in recs[:limit]]

    def find_closed_pull(self, repo: str, head: str) -> PullRequest | None:
        """The newest closed or merged PR for ``head`` or None (see ``Forge.find_closed_pull``)."""
        self._count("find_closed_pull")
        closed = [
            rec for rec in self.load_record(repo)["pulls"] if rec["state"] != "open" and rec["head"] == head
        ]
        return self._pull_from(repo, max(closed, key=lambda rec: int(rec["number"]))) if closed else None

    def update_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> PullRequest:
        """See ``Forge.update_pull``; NotFound also for an unknown ``base`` branch."""
        self._count("update_pull", write=True)
        if base is not None and self.branch_sha(repo, base) is None:
            raise NotFound(f"base branch {base!r} not found in {repo}")
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if title is not None:
                rec["title"] = title
            if body is not None:
                rec["body"] = body
            if base is not None:
                rec["base"] = base
            if labels is not None:
                rec["labels"] = list(dict.fromkeys(labels))
            rec["updated_at"] = now()
            return self._pull_from(repo, rec)

    def close_pull(self, repo: str, number: int, *, comment: str | None = None) -> None:
        """Close PR ``number`` (after posting ``comment``)."""
        self._count("close_pull", write=True)
        gd = self._git_dir(repo)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if comment:
                self._new_comment(repo, data, number, comment)
            if rec["state"] == "open":
                rec["head_sha"] = gitutil.rev_parse(gd, f"refs/heads/{rec['head']}") or rec["head_sha"]
                rec["state"] = "closed"
                rec["auto_merge"] = False
                rec["closed_at"] = rec["updated_at"] = now()

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        """Add labels to a PR or issue."""
        self._count("add_labels", write=True)
        with self._edit(repo) as data:
            rec = self._find_item(data, number, repo)
            self._add_unique(rec["labels"], labels)

    def request_reviewers(
        self, repo: str, number: int, *, users: Sequence[str] = (), teams: Sequence[str] = ()
    ) -> None:
        """Record review requests (teams stored as ``org/slug``)."""
        self._count("request_reviewers", write=True)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            self._add_unique(rec["reviewers"], users)
            self._add_unique(rec["team_reviewers"], [self._team(repo, t) for t in teams])

    def add_assignees(self, repo: str, number: int, assignees: Sequence[str]) -> None:
        """Add assignees to a PR or issue."""
        self._count("add_assignees", write=True)
        with self._edit(repo) as data:
            rec = self._find_item(data, number, repo)
            rec.setdefault("assignees", [])
            self._add_unique(rec["assignees"], assignees)

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullRequest]:
        """Merged PRs whose merge commit is ``sha`` or whose commits include ``sha``.

        Raises NotFound when ``sha`` is not a commit of ``repo``.
        """
        self._count("pulls_for_commit")
        gd = self._git_dir(repo)
        full = gitutil.rev_parse(gd, sha)
        if full is None:
            raise NotFound(f"commit {sha} not found in {repo}")
        out: list[PullRequest] = []
        for rec in self.load_record(repo)["pulls"]:
            if rec["state"] != "merged":
                continue
            hit = rec.get("merged_sha") == full
            if not hit and rec.get("merge_base") and rec.get("head_sha"):
                commits = gitutil.git_out(
                    ["rev-list", f"{rec['merge_base']}..{rec['head_sha']}"], git_dir=gd
                ).split()
                hit = full in commits
            if hit:
                out.append(self._pull_from(repo, rec))
        return out

    # --- checks and merging -------------------------------------------------------------------
    def enable_auto_merge(self, repo: str, number: int, *, method: str = "squash") -> None:
        """Request auto-merge and evaluate it now (merges at once when the checks pass).

        Raises AutoMergeUnavailable when the repo record has ``allow_auto_merge: false`` or the
        PR is not open; UsageError for an unknown method.
        """
        self._count("enable_auto_merge", write=True)
        check_merge_method(method)
        with self._edit(repo) as data:
            if not data["repo"]["allow_auto_merge"]:
                raise AutoMergeUnavailable(f"auto-merge is not allowed in {repo} (allow_auto_merge is false)")
            rec = self._find_pull(data, number, repo)
            if rec["state"] != "open":
                raise AutoMergeUnavailable(f"pull request #{number} in {repo} is {rec['state']}, not open")
            rec["auto_merge"] = True
            rec["merge_method"] = method
            rec["updated_at"] = now()
        self._maybe_auto_merge(repo, number)

    def checks_state(self, repo: str, number: int) -> ChecksState:
        """The local CI's result on the PR head as recorded: a read that never runs the checks
        and never merges (``rollout plan`` reads it: planning causes no work). ``PENDING`` when
        the CI is on and has not run on this head yet (like a GitHub check suite still queued
        after a push); ``NONE`` when the repository's CI is off, nothing was checked, or a
        closed PR never had a run. ``run_checks`` runs them."""
        self._count("checks_state")
        data = self.load_record(repo)
        rec = self._find_pull(data, number, repo)
        pr = self._pull_from(repo, rec)
        cached = rec.get("checks")
        if cached and cached.get("sha") == pr.head_sha and cached.get("command") == self.checks.label:
            return ChecksState(cached["state"])
        if pr.state is not PullState.OPEN:
            return ChecksState(cached["state"]) if cached else ChecksState.NONE
        if data["repo"].get("ci", True) is False:
            return ChecksState.NONE
        return ChecksState.PENDING

    def run_checks(self, repo: str, number: int) -> ChecksState:
        """Run the checks on the PR head unless they already ran there (the cached result),
        and merge an armed auto-merge PR when they passed (``catalog-ops forge checks``)."""
        self._count("run_checks")
        state = self._checks(repo, number)
        if state is ChecksState.SUCCESS:
            self._maybe_auto_merge(repo, number)
        return state

    def process_auto_merges(self, repo: str | None = None) -> list[PullRequest]:
        """Evaluate every open auto-merge PR (of ``repo`` or of all repos); returns the merged ones."""
        merged: list[PullRequest] = []
        for name in [repo] if repo else self.all_repos():
            for rec in self.load_record(name)["pulls"]:
                if (
                    rec["state"] == "open"
                    and rec["auto_merge"]
                    and self._maybe_auto_merge(name, rec["number"])
                ):
                    merged.append(self.get_pull(name, rec["number"]))
        return merged

    def _maybe_auto_merge(self, repo: str, number: int) -> bool:
        data = self.load_record(repo)
        rec = self._find_pull(data, number, repo)
        if rec["state"] != "open" or not rec["auto_merge"]:
            return False
        head = self._pull_from(repo, rec).head_sha
        if self._checks(repo, number) is not ChecksState.SUCCESS:
            return False
        try:
            self.merge_pull(repo, number, method=rec["merge_method"] or "squash", sha=head)
        except Conflict:
            return False
        return True

    def disable_auto_merge(self, repo: str, number: int) -> None:
        """Disarm auto-merge of PR ``number`` (no error when it is not armed)."""
        self._count("disable_auto_merge", write=True)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if rec["auto_merge"]:
                rec["auto_merge"] = False
                rec["updated_at"] = now()

    def approve(self, repo: str, number: int, *, user: str) -> None:
        """Record an approving review of PR ``number`` by ``user`` (``catalog-ops forge approve``)."""
        self._count("approve", write=True)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if rec["state"] != "open":
                raise Conflict(f"pull request #{number} in {repo} is {rec['state']}; cannot approve")
            approvals = rec.setdefault("approvals", [])
            if user not in approvals:
                approvals.append(user)
            rec["updated_at"] = now()

    def rerun_checks(self, repo: str, number: int) -> ChecksState:
        """Run the checks of PR ``number`` again on its head (``catalog-ops forge checks --rerun``).

        Like GitHub's "Re-run all jobs", which "uses the same GITHUB_SHA (commit SHA) ... of the
        original event" and keeps the earlier attempts
        (https://docs.github.com/en/actions/managing-workflow-runs/re-running-workflows-and-jobs):
        an open PR is checked at its branch tip, a closed or merged one at the head it had; the
        new run becomes ``checks`` (``attempt`` counts the runs on that head) and the earlier
        one moves to ``checks_history``, never erased. An open armed PR merges when they pass.

        Raises:
            Conflict: the head already had ``MAX_ATTEMPTS`` runs (GitHub's re-run limit).
            NotFound: no such PR.
        """
        self._count("rerun_checks")
        state = self._checks(repo, number, rerun=True)
        if state is ChecksState.SUCCESS:
            self._maybe_auto_merge(repo, number)
        return state

    def merge_facts(self, repo: str, number: int) -> MergeFacts:
        """See ``Merges.merge_facts``: the local CI's result on the head (check ``local-checks``,
        run now when it has not run there: the merge gate is work; none when the repository's
        CI is off or had nothing to check), the checks the base branch's protection requires
        (``protection`` in the record), no native auto-merge, every merge method."""
        self._count("merge_facts")
        data = self.load_record(repo)
        pr = self._pull_from(repo, self._find_pull(data, number, repo))
        checks: tuple[CheckResult, ...] = ()
        if pr.state is PullState.OPEN:
            state = self._checks(repo, number)
            if state is not ChecksState.NONE:
                checks = (CheckResult(name=LOCAL_CHECK, state=state.value),)
        return MergeFacts(
            head_sha=pr.head_sha,
            state=pr.state,
            auto_merge=pr.auto_merge,
            checks=checks,
            required=self._required(data, pr.base),
            merge_methods=MERGE_METHODS,
            head_age=float("inf"),
        )

    @staticmethod
    def _required(data: Mapping[str, Any], branch: str) -> tuple[str, ...]:
        rule = (data["repo"].get("protection") or {}).get(branch) or {}
        return tuple(rule.get("contexts") or ())

    def _checks(self, repo: str, number: int, *, rerun: bool = False) -> ChecksState:
        gd = self._git_dir(repo)
        data = self.load_record(repo)
        rec = self._find_pull(data, number, repo)
        pr = self._pull_from(repo, rec)
        cached: dict[str, Any] = rec.get("checks") or {}
        same_head = cached.get("sha") == pr.head_sha
        if not rerun and same_head and cached.get("command") == self.checks.label:
            return ChecksState(cached["state"])
        if not rerun and pr.state is not PullState.OPEN:
            return ChecksState(cached["state"]) if cached else ChecksState.NONE
        if data["repo"].get("ci", True) is False:
            return ChecksState.NONE
        if same_head and int(cached.get("attempt") or 1) >= MAX_ATTEMPTS:
            raise Conflict(
                f"{repo}#{number}: the checks already ran {MAX_ATTEMPTS} times on {pr.head_sha[:12]} "
                "(GitHub's re-run limit); push a new commit"
            )
        if pr.state is PullState.OPEN:
            base_sha = gitutil.rev_parse(gd, f"refs/heads/{pr.base}") or pr.head_sha
        else:  # the base already holds a merged head: compare with where the PR started
            base_sha = rec.get("merge_base") or gitutil.git_out(
                ["merge-base", f"refs/heads/{pr.base}", pr.head_sha], git_dir=gd
            )
        changed = gitutil.changed_paths(gd, base_sha, pr.head_sha)
        state, code, output = self.checks.run(gd, repo, pr, changed)
        with self._edit(repo) as data2:
            rec2 = self._find_pull(data2, number, repo)
            earlier = rec2.get("checks")
            attempt = 1
            if earlier:
                rec2.setdefault("checks_history", []).append(earlier)
                if earlier.get("sha") == pr.head_sha:
                    attempt = int(earlier.get("attempt") or 1) + 1
            rec2["checks"] = {
                "sha": pr.head_sha,
                "state": state.value,
                "command": self.checks.label,
                "exit_code": code,
                "changed_files": changed,
                "ran_at": now(),
                "attempt": attempt,
                "output": output[-OUTPUT_TAIL:],
            }
        return state

    def _protection_refusal(
        self, rec: Mapping[str, Any], required: Sequence[str], head_sha: str
    ) -> str | None:
        """Why branch protection refuses merging ``rec`` at ``head_sha`` (GitHub's 405 text), or None."""
        cached = rec.get("checks")
        ran = (
            cached["state"]
            if cached and cached.get("sha") == head_sha and cached.get("command") == self.checks.label
            else None
        )
        for name in required:
            state = ran if name == LOCAL_CHECK and ran != ChecksState.NONE.value else None
            if state is None or state == ChecksState.PENDING.value:
                return f'Required status check "{name}" is expected.'
            if state == ChecksState.FAILURE.value:
                return f'Required status check "{name}" is failing.'
        return None

    def merge_pull(self, repo: str, number: int, *, method: str = "squash", sha: str | None = None) -> str:
        """Merge PR ``number`` into its base now; returns the new base tip.

        ``sha``: merge only while the PR head is that commit (HeadMoved otherwise, like GitHub's
        409).

        merge: a merge commit (two parents); squash: one commit ``"<title> (#n)"`` on the base;
        rebase: the PR commits replayed on the base (fast-forward when possible).
        Branch protection: when the base requires checks (``protection``), the local CI runs
        on the head unless it already did, and the merge is refused unless every required check
        passed there — GitHub's "Require status checks before merging"
        (https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches#require-status-checks-before-merging)
        and the 405 of "Merge a pull request"
        (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request), with its text
        ``Required status check "local-checks" is failing.`` / ``... is expected.``.

        Raises Conflict when the PR is not open, required checks did not pass on its head, or
        it does not merge cleanly.
        """
        self._count("merge_pull", write=True)
        check_merge_method(method)
        gd = self._git_dir(repo)
        before = self.load_record(repo)
        before_rec = self._find_pull(before, number, repo)
        if before_rec["state"] == "open" and self._required(before, before_rec["base"]):
            self._checks(repo, number)  # the local CI reports before the protection is judged
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if rec["state"] != "open":
                raise Conflict(f"pull request #{number} in {repo} is {rec['state']}; cannot merge")
            head_sha = gitutil.rev_parse(gd, f"refs/heads/{rec['head']}")
            base_sha = gitutil.rev_parse(gd, f"refs/heads/{rec['base']}")
            if head_sha is None or base_sha is None:
                raise Conflict(f"pull request #{number} in {repo}: head or base branch is missing")
            if sha and head_sha != sha:
                raise HeadMoved(
                    f"{repo}#{number}: head branch was modified ({sha[:12]} -> {head_sha[:12]}); not merged"
                )
            required = self._required(data, rec["base"])
            refusal = self._protection_refusal(rec, required, head_sha) if required else None
            if refusal:
                raise Conflict(
                    f"{repo}#{number}: not merged: {refusal} "
                    f"(branch protection of {rec['base']} requires {', '.join(required)})"
                )
            merge_base = gitutil.git_out(["merge-base", base_sha, head_sha], git_dir=gd)
            subjects = self.merge_subjects
            squash_msg = f"{subjects.squash_subject(rec['title'], number)}\n\n{rec['body']}".rstrip() + "\n"
            merge_msg = (
                f"{subjects.merge_subject(number, repo.split('/')[0], rec['head'])}\n\n{rec['title']}\n"
            )
            if merge_base == base_sha:  # base has not moved: no real merge needed
                tree = f"{head_sha}^{{tree}}"
                if method == "squash":
                    new = gitutil.git_out(
                        ["commit-tree", tree, "-p", base_sha, "-F", "-"],
                        git_dir=gd,
                        input=squash_msg.encode(),
                    )
                elif method == "merge":
                    new = gitutil.git_out(
                        ["commit-tree", tree, "-p", base_sha, "-p", head_sha, "-F", "-"],
                        git_dir=gd,
                        input=merge_msg.encode(),
                    )
                else:
                    new = head_sha
            else:
                new = self._merge_in_clone(gd, rec["base"], head_sha, method, squash_msg, merge_msg)
            try:
                gitutil.update_ref(gd, f"refs/heads/{rec['base']}", new, base_sha)
            except gitutil.GitError as exc:
                raise Conflict(f"base branch {rec['base']} of {repo} moved during the merge; retry") from exc
            rec.update(
                state="merged",
                head_sha=head_sha,
                merged_sha=new,
                merge_base=merge_base,
                merge_method=rec.get("merge_method") or method,
                auto_merge=rec["auto_merge"],
                closed_at=now(),
                merged_at=now(),
                updated_at=now(),
                merged_with=method,
            )
            return new

    def _merge_in_clone(
        self, gd: Path, base: str, head_sha: str, method: str, squash_msg: str, merge_msg: str
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="catalog-ops-merge-") as tmp:
            work = Path(tmp) / "w"
            gitutil.run_git(["clone", "-q", "--shared", "--no-checkout", str(gd), str(work)])
            gitutil.run_git(["checkout", "-q", "-B", base, f"origin/{base}"], cwd=work)
            try:
                if method == "merge":
                    gitutil.run_git(
                        ["merge", "-q", "--no-ff", "--no-edit", "-m", merge_msg, head_sha], cwd=work
                    )
                elif method == "squash":
                    gitutil.run_git(["merge", "-q", "--squash", head_sha], cwd=work)
                    gitutil.run_git(
                        ["commit", "-q", "--allow-empty", "-F", "-"], cwd=work, input=squash_msg.encode()
                    )
                else:
                    gitutil.run_git(["checkout", "-q", "-B", "catalog-ops-rebase", head_sha], cwd=work)
                    gitutil.run_git(["rebase", "-q", base], cwd=work)
            except gitutil.GitError as exc:
                raise Conflict(
                    f"pull request does not merge cleanly into {base}: {exc.stderr.strip()[:500]}"
                ) from None
            new = gitutil.git_out(["rev-parse", "HEAD"], cwd=work)
            # Objects live in the clone; copy them to the shared repository.
            gitutil.run_git(["push", "-q", str(gd), f"{new}:refs/catalog-ops/merge-tmp"], cwd=work)
            gitutil.run_git(["update-ref", "-d", "refs/catalog-ops/merge-tmp"], git_dir=gd)
            return new
