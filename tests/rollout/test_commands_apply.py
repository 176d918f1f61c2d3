"""Commands in rollout PRs on the local forge: plan reads them, apply acts and acknowledges once.

People's comments are posted with ``LocalForge.add_comment(..., author=)``; who may write is
the repository record's ``collaborators`` map (``docs/forge.md``).
"""

from __future__ import annotations

from catalog_ops.forge.base import PullState
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout import commands
from catalog_ops.rollout.model import Action
from fixtures.rollout import (
    BRANCH,
    CATALOG,
    RolloutWorld,
    dependent_of,
    network_module,
    outcome_of,
)


def _opened(w: RolloutWorld, name: str, *, to: str = "v1.1.0", base: str = "v1.0.0") -> tuple[str, int]:
    """A dependent ``acme/<name>`` on ``base`` with an open rollout PR to ``to``; alice may write,
    bob may read."""
    w.release(base, modules=["modules/network"])
    repo = w.dependent(name, {"main.tf": network_module(base)})
    w.forge.set_repo_settings(repo, collaborators={"alice": "write", "bob": "read", "mia": "maintain"})
    w.release(to, modules=["modules/network"])
    assert outcome_of(w.apply(w.plan()), repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    return repo, pr.number


def _state_comments(w: RolloutWorld, repo: str, number: int) -> list[str]:
    return [
        c.body
        for c in w.forge.list_comments(repo, number)
        if c.author is None and commands.STATE_PREFIX in c.body
    ]


def test_pr_body_says_closing_means_not_this_release_and_lists_the_commands(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    repo, number = _opened(w, "body")
    body = w.forge.get_pull(repo, number).body
    assert 'Closing this PR without merging means "not this release"' in body
    assert "does not reopen it for v1.1.0" in body
    assert "`/catalog-ops ignore this module`" in body


def test_ignore_this_module_from_a_writer_closes_the_pr_and_holds_after_it_is_closed(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    repo, number = _opened(w, "ign")
    c = w.forge.add_comment(repo, number, "No thanks.\n/catalog-ops ignore this module\n", author="alice")
    plan = w.plan()
    dep = dependent_of(plan, repo)
    assert dep.action is Action.CLOSE and "ignore this module" in (dep.reason or "")
    assert [(d.verdict.value, d.command) for d in dep.commands] == [("honoured", "ignore this module")]
    report = w.apply(plan)
    assert outcome_of(report, repo).kind is OutcomeKind.CLOSED
    assert w.forge.get_pull(repo, number).state is PullState.CLOSED
    assert w.forge.reactions(repo, c.id) == [("+1", None)]
    (state,) = _state_comments(w, repo, number)
    assert (
        "- `/catalog-ops ignore this module` from alice: honoured: no more PRs for modules/network\n" in state
    )
    assert "modules/network ignored" in state
    # Rerun: nothing new, no second acknowledgement, the state comment is unchanged.
    w.apply(w.plan())
    assert w.forge.reactions(repo, c.id) == [("+1", None)]
    assert _state_comments(w, repo, number) == [state]
    # A newer release of the module: still ignored, read back from the closed PR's state comment.
    w.release("v1.2.0", modules=["modules/network"])
    later = dependent_of(w.plan(), repo)
    assert later.action is Action.NOTHING
    assert "ignore this module" in (later.reason or "")
    assert outcome_of(w.apply(w.plan()), repo).kind is OutcomeKind.UP_TO_DATE
    assert w.forge.find_open_pull(repo, BRANCH) is None


def test_a_non_writer_is_refused_with_a_reply_once(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo, number = _opened(w, "reader")
    head = w.forge.branch_sha(repo, BRANCH)
    c = w.forge.add_comment(repo, number, "/catalog-ops ignore this module", author="bob")
    plan = w.plan()
    dep = dependent_of(plan, repo)
    assert dep.action is Action.UPDATE and dep.ignores == ()
    (decision,) = dep.commands
    assert decision.verdict is commands.Verdict.REFUSED
    w.apply(plan)
    assert w.forge.get_pull(repo, number).state is PullState.OPEN
    assert w.forge.branch_sha(repo, BRANCH) == head
    assert w.forge.reactions(repo, c.id) == []
    (reply,) = _state_comments(w, repo, number)
    # the plan's verdict word ("refused"), never another one for the same thing
    assert reply.splitlines()[2] == (
        "- `/catalog-ops ignore this module` from bob: **refused**: "
        "bob does not have write access to acme/reader (permission: read)"
    )
    assert "ignored" not in reply.split("<!--")[0]
    w.apply(w.plan())
    assert _state_comments(w, repo, number) == [reply]


def test_rebase_from_a_writer_rebuilds_the_branch_on_the_current_base_once(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    repo, number = _opened(w, "rebase")
    old_head = w.forge.branch_sha(repo, BRANCH)
    assert old_head is not None
    new_base = w.push(repo, {"README.md": "moved on\n"})
    # The PR carries the same changes: without a command the rerun leaves the branch alone.
    w.apply(w.plan())
    assert w.forge.branch_sha(repo, BRANCH) == old_head
    c = w.forge.add_comment(repo, number, "/catalog-ops rebase", author="mia")  # maintain = write
    plan = w.plan()
    w.apply(plan)
    head = w.forge.branch_sha(repo, BRANCH)
    assert head != old_head
    assert w.forge.get_commit(repo, head or "").parents == (new_base,)
    assert w.read(repo, "main.tf", BRANCH) == network_module("v1.1.0")
    assert w.forge.reactions(repo, c.id) == [("+1", None)]
    # The same plan applied again (a rerun): the rebase is handled, the branch stays.
    w.apply(plan)
    assert w.forge.branch_sha(repo, BRANCH) == head
    w.apply(w.plan())
    assert w.forge.branch_sha(repo, BRANCH) == head
    assert w.forge.reactions(repo, c.id) == [("+1", None)]


def test_ignore_this_major_holds_for_that_major_only(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo, number = _opened(w, "major", to="v2.0.0")
    w.forge.add_comment(repo, number, "/catalog-ops ignore this major", author="alice")
    w.apply(w.plan())
    assert w.forge.get_pull(repo, number).state is PullState.CLOSED
    (closing,) = [c.body for c in w.forge.list_comments(repo, number) if c.body.startswith("Closing")]
    # closed because the owners ignored that major, saying who and with which command
    assert closing.split("<!--")[0] == (
        "Closing: the owners of acme/major ignored what this PR proposes:\n"
        "- `/catalog-ops ignore this major` from alice: modules/network v2.x ignored\n\n"
        "Rollout of acme/infrastructure-modules v2.0.0; later rollouts do not propose what is ignored "
        '(the state comment on this PR keeps it; docs/rollout.md, "Commands").\n\n'
    )
    w.release("v2.1.0", modules=["modules/network"])
    assert dependent_of(w.plan(), repo).action is Action.NOTHING
    w.release("v3.0.0", modules=["modules/network"])
    plan = w.plan()
    assert dependent_of(plan, repo).action is Action.OPEN
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.OPENED
    fresh = w.forge.find_open_pull(repo, BRANCH)
    assert fresh is not None and fresh.number != number
    assert w.read(repo, "main.tf", BRANCH) == network_module("v3.0.0")
    # the ignore in force is carried to the new PR's state comment
    (carried,) = _state_comments(w, repo, fresh.number)
    assert "modules/network v2.x ignored" in carried


def test_skip_this_release_then_a_newer_release_proposes_again(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo, number = _opened(w, "skip")
    w.forge.add_comment(repo, number, "/catalog-ops skip this release", author="alice")
    w.apply(w.plan())
    assert w.forge.get_pull(repo, number).state is PullState.CLOSED
    again = dependent_of(w.plan(), repo)
    assert again.action is Action.NOTHING and "release v1.1.0 skipped" in (again.reason or "")
    w.release("v1.2.0", modules=["modules/network"])
    assert outcome_of(w.apply(w.plan()), repo).kind is OutcomeKind.OPENED
    assert w.read(repo, "main.tf", BRANCH) == network_module("v1.2.0")


def test_closed_by_hand_is_not_proposed_by_the_plan_until_a_writer_says_retry(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    repo, number = _opened(w, "retry")
    w.forge.close_pull(repo, number)  # a person says "not this release"
    dep = dependent_of(w.plan(), repo)
    assert dep.action is Action.SKIP and (dep.reason or "").startswith(
        "closed by a person; not reopening for v1.1.0"
    )
    w.forge.add_comment(repo, number, "/catalog-ops retry", author="bob")  # read only: refused
    assert dependent_of(w.plan(), repo).action is Action.SKIP
    c = w.forge.add_comment(repo, number, "/catalog-ops retry", author="alice")
    plan = w.plan()
    assert dependent_of(plan, repo).action is Action.OPEN
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.OPENED
    fresh = w.forge.find_open_pull(repo, BRANCH)
    assert fresh is not None and fresh.number != number
    assert w.forge.reactions(repo, c.id) == [("+1", None)]
    # handled: the next plan updates the open PR (nothing more to do), no second PR
    assert outcome_of(w.apply(w.plan()), repo).kind is OutcomeKind.UP_TO_DATE
    still = w.forge.find_open_pull(repo, BRANCH)
    assert still is not None and still.number == fresh.number


def test_a_forged_state_block_in_a_persons_comment_is_not_read(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo, number = _opened(w, "forged")
    forged = commands.State(
        ignores=(commands.Ignore(kind=commands.IgnoreKind.MODULE, module="modules/network", pr=number),)
    )
    w.forge.add_comment(repo, number, commands.STATE.render(forged.to_json(CATALOG)), author="bob")
    dep = dependent_of(w.plan(), repo)
    assert dep.action is Action.UPDATE and dep.ignores == ()


def test_a_command_in_capitals_is_honoured_and_a_bare_one_is_answered(rollout_world: RolloutWorld) -> None:
    """``/CATALOG-OPS REBASE`` is ``rebase`` (acknowledged with a +1); a line with the command word
    and nothing after it gets the list of commands in the state comment (never silence)."""
    w = rollout_world
    repo, number = _opened(w, "caps")
    caps = w.forge.add_comment(repo, number, "/CATALOG-OPS REBASE", author="alice")
    bare = w.forge.add_comment(repo, number, "/catalog-ops", author="alice")
    dep = dependent_of(w.plan(), repo)
    assert [(d.comment, d.command, d.verdict.value) for d in dep.commands] == [
        (caps.id, "rebase", "honoured"),
        (bare.id, "", "refused"),
    ]
    w.apply(w.plan())
    assert w.forge.reactions(repo, caps.id) == [("+1", None)]
    assert w.forge.reactions(repo, bare.id) == []
    (state,) = _state_comments(w, repo, number)
    assert (
        "- `/catalog-ops` from alice: **refused**: no command given; known: rebase, retry, "
        "ignore this major, ignore this module, skip this release\n"
    ) in state
