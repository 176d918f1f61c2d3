"""Commands in rollout PRs through GitHubForge against the emulator: comments people post,
GitHub's collaborator permission, reactions as the product's identity, the state comment."""

from __future__ import annotations

from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout import commands
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"


def _release(forge: Any, tag: str) -> None:
    parent = forge.branch_sha(CATALOG, "main")
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message=f"fix: network {tag}",
        changes=[FileChange("modules/network/main.tf", f"# {tag}\n".encode())],
    )
    forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
    forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n")


def _round(forge: Any) -> Any:
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    return plan, apply_plan(forge, plan, options=ApplyOptions())


def _state_comments(emu: Any, repo: str, number: int) -> list[dict[str, Any]]:
    return [c for c in emu.comments(repo, number) if commands.STATE_PREFIX in c["body"]]


def test_commands_on_github_writer_honoured_reader_refused_acknowledged_once(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0")
    _release(forge, "v1.1.0")
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    repo = "acme/cmd"
    emu.create_repo(repo, files={"main.tf": net}, collaborators=["alice"], roles={"bob": "triage"})
    _round(forge)
    (pr,) = emu.pulls(repo)
    writer = emu.comment(repo, pr["number"], "/catalog-ops ignore this module", login="alice")
    # bob can triage (author_association would still call him a member): not write access
    reader = emu.comment(repo, pr["number"], "/catalog-ops rebase", login="bob")
    plan, report = _round(forge)
    (dep,) = [d for d in plan.dependents if d.repo == repo]
    assert dep.action is Action.CLOSE
    assert {(d.author, d.verdict.value) for d in dep.commands} == {("alice", "honoured"), ("bob", "refused")}
    assert next(o for o in report.outcomes if o.subject == repo).kind is OutcomeKind.CLOSED
    assert [p["state"] for p in emu.pulls(repo)] == ["closed"]
    assert [(r["content"], r["user"]["login"]) for r in emu.reactions(repo, writer["id"])] == [
        ("+1", "catalog-bot")
    ]
    assert emu.reactions(repo, reader["id"]) == []
    (state,) = _state_comments(emu, repo, pr["number"])
    assert state["user"]["login"] == "catalog-bot"
    assert "bob does not have write access to acme/cmd (permission: read)" in state["body"]
    # Rerun: nothing is acknowledged twice, the state comment is not repeated.
    _round(forge)
    assert len(emu.reactions(repo, writer["id"])) == 1
    assert [c["id"] for c in _state_comments(emu, repo, pr["number"])] == [state["id"]]
    # The ignore is read back from the closed PR (batched snapshot) for a newer release.
    _release(forge, "v1.2.0")
    plan, report = _round(forge)
    (dep,) = [d for d in plan.dependents if d.repo == repo]
    assert dep.action is Action.NOTHING and "ignore this module" in (dep.reason or "")
    assert len(emu.pulls(repo)) == 1


def test_a_previous_plan_is_reused_for_a_pr_closed_by_hand_until_a_writer_says_retry(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0")
    _release(forge, "v1.1.0")
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    repo = "acme/keep"
    emu.create_repo(repo, files={"main.tf": net}, collaborators=["alice"])
    selection = DependentSelection(org="acme")
    first, _report = _round(forge)
    (pr,) = emu.pulls(repo)
    forge.close_pull(repo, pr["number"])  # a person: "not this release"
    mark = len(emu.request_log)
    second = build_plan(forge, catalog=CATALOG, selection=selection, previous=first)
    fresh_cost = len(emu.request_log) - mark
    (dep,) = [d for d in second.dependents if d.repo == repo]
    assert dep.action is Action.SKIP and (dep.reason or "").startswith(
        "closed by a person; not reopening for v1.1.0"
    )
    mark = len(emu.request_log)
    third = build_plan(forge, catalog=CATALOG, selection=selection, previous=second)
    assert len(emu.request_log) - mark < fresh_cost  # reused: the tree and files are not read again
    assert [d.action for d in third.dependents if d.repo == repo] == [Action.SKIP]
    emu.comment(repo, pr["number"], "/catalog-ops retry", login="alice")
    fourth = build_plan(forge, catalog=CATALOG, selection=selection, previous=third)
    (dep,) = [d for d in fourth.dependents if d.repo == repo]
    assert dep.action is Action.OPEN and [d.command for d in dep.commands] == ["retry"]
    report = apply_plan(forge, fourth, options=ApplyOptions())
    assert next(o for o in report.outcomes if o.subject == repo).kind is OutcomeKind.OPENED
    assert [p["state"] for p in emu.pulls(repo)] == ["closed", "open"]


def test_a_flood_of_comments_hides_no_command_on_github(github_emulator: Any, github_forge: Any) -> None:
    """150 comments by a stranger, then a writer's command: the plan reads page 1 and the last
    pages ("List issue comments", ``Link: rel="last"``), so the command is honoured, and a
    second round finds the product's state comment among the newest and decides nothing again."""
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0")
    _release(forge, "v1.1.0")
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    repo = "acme/flood"
    emu.create_repo(repo, files={"main.tf": net}, collaborators=["alice"])
    _round(forge)
    (pr,) = emu.pulls(repo)
    for i in range(150):
        emu.comment(repo, pr["number"], f"spam {i}", login="mallory")
    emu.comment(repo, pr["number"], "/catalog-ops ignore this module", login="alice")
    listed = forge.list_comments(repo, pr["number"], limit=commands.MAX_COMMENTS)
    assert len(listed) == 151 and listed[-1].author == "alice"  # all of them: 151 <= 200
    for i in range(150, 400):
        emu.comment(repo, pr["number"], f"spam {i}", login="mallory")
    mark = len(emu.request_log)
    listed = forge.list_comments(repo, pr["number"], limit=commands.MAX_COMMENTS)
    assert len(emu.request_log) - mark == 3  # page 1, and the last two pages
    assert [c.body for c in listed[:2]] == ["spam 0", "spam 1"] and listed[-1].body == "spam 399"
    assert len(listed) == 200
    emu.comment(repo, pr["number"], "/catalog-ops ignore this module", login="alice")
    plan, _report = _round(forge)
    (dep,) = [d for d in plan.dependents if d.repo == repo]
    assert dep.action is Action.CLOSE
    assert [(d.author, d.verdict.value) for d in dep.commands if d.author == "alice"][-1] == (
        "alice",
        "honoured",
    )
