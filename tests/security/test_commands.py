"""Commands in rollout PRs (docs/security.md, "Commands"): only a line-start command from a
writer steers anything, and only the dependent it was posted in; nothing else in a comment is
read, a forged state block is never read, and what is echoed back is neutralised.

On the local forge (people's comments carry their author; the product's carry none)."""

from __future__ import annotations

from catalog_ops.forge.base import PullState
from catalog_ops.rollout import commands
from catalog_ops.rollout.model import Action
from fixtures.rollout import BRANCH, CATALOG, RolloutWorld, dependent_of, network_module


def _world(w: RolloutWorld) -> tuple[str, str, int]:
    w.release("v1.0.0", modules=["modules/network"])
    target = w.dependent("target", {"main.tf": network_module("v1.0.0")})
    other = w.dependent("other", {"main.tf": network_module("v1.0.0")})
    for repo in (target, other):
        w.forge.set_repo_settings(repo, collaborators={"alice": "write"})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(target, BRANCH)
    assert pr is not None
    return target, other, pr.number


def test_quoted_indented_or_fenced_commands_steer_nothing(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    target, _other, number = _world(w)
    body = (
        "> /catalog-ops ignore this module\n"
        "  /catalog-ops ignore this module\n"
        "```\n/catalog-ops ignore this module\n```\n"
        "see /catalog-ops ignore this module\n"
    )
    w.forge.add_comment(target, number, body, author="alice")
    dep = dependent_of(w.plan(), target)
    assert dep.commands == () and dep.ignores == ()
    assert dep.action is Action.UPDATE


def test_a_command_steers_only_its_own_dependent(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    target, other, number = _world(w)
    w.forge.add_comment(target, number, "/catalog-ops ignore this module", author="alice")
    plan = w.plan()
    assert dependent_of(plan, target).action is Action.CLOSE
    assert dependent_of(plan, other).action is Action.UPDATE
    w.apply(plan)
    assert w.forge.get_pull(target, number).state is PullState.CLOSED
    assert w.forge.find_open_pull(other, BRANCH) is not None


def test_a_forged_state_block_neither_ignores_nor_marks_commands_handled(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    target, _other, number = _world(w)
    c = w.forge.add_comment(target, number, "/catalog-ops rebase", author="mallory")
    forged = commands.State(
        handled={c.id + 1: "honoured"},
        ignores=(commands.Ignore(kind=commands.IgnoreKind.MODULE, module="modules/network", pr=number),),
    )
    w.forge.add_comment(
        target, number, "ok\n" + commands.STATE.render(forged.to_json(CATALOG)), author="mallory"
    )
    w.forge.add_comment(target, number, "/catalog-ops ignore this module", author="alice")
    dep = dependent_of(w.plan(), target)
    # mallory's block is not the product's: alice's command is still new and decided; mallory's refused
    assert {(d.author, d.verdict.value) for d in dep.commands} == {
        ("mallory", "refused"),
        ("alice", "honoured"),
    }


def test_echoed_command_text_is_neutralised_in_the_state_comment(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    target, _other, number = _world(w)
    w.forge.add_comment(
        target, number, "/catalog-ops @acme/everyone <!-- catalog-ops:rollout {} --> ping", author="alice"
    )
    w.apply(w.plan())
    (state,) = [
        c
        for c in w.forge.list_comments(target, number)
        if c.author is None and commands.STATE_PREFIX in c.body
    ]
    text = state.body[: state.body.rfind(commands.STATE_PREFIX)]
    assert "@acme/everyone" not in text and "<!--" not in text  # broken by render.markdown
    assert "unknown command" in text
    # the product reads its own block back, and the rollout PR's marker is untouched
    back = commands.read_state([state], catalog=CATALOG, identity=None)
    assert len(back.handled) == 1
    pr = w.forge.get_pull(target, number)
    assert pr.state is PullState.OPEN


def test_the_closing_comment_of_an_ignore_neutralises_the_login(rollout_world: RolloutWorld) -> None:
    """The comment closing a PR after ``ignore this module`` names who commanded it: through
    ``render.markdown`` (a login that is a mention or a comment delimiter steers nothing)."""
    w = rollout_world
    target, _other, number = _world(w)
    login = "@acme/everyone<!--"
    w.forge.set_repo_settings(target, collaborators={login: "write"})
    w.forge.add_comment(target, number, "/catalog-ops ignore this module", author=login)
    w.apply(w.plan())
    assert w.forge.get_pull(target, number).state is PullState.CLOSED
    (closing,) = [c.body for c in w.forge.list_comments(target, number) if c.body.startswith("Closing")]
    text = closing[: closing.rfind("<!-- catalog-ops:rollout")]
    assert "`/catalog-ops ignore this module` from " in text and "modules/network ignored" in text
    assert "@acme/everyone" not in text and "<!--" not in text


def test_a_flood_of_comments_hides_no_command(rollout_world: RolloutWorld) -> None:
    """A stranger posts 250 comments; a writer's command after them is still read (the first and
    the newest ``MAX_COMMENTS`` are read, not only the first)."""
    w = rollout_world
    target, _other, number = _world(w)
    for i in range(250):
        w.forge.add_comment(target, number, f"spam {i}", author="mallory")
    w.forge.add_comment(target, number, "/catalog-ops ignore this module", author="alice")
    dep = dependent_of(w.plan(), target)
    assert dep.action is Action.CLOSE
    assert [(d.author, d.verdict.value) for d in dep.commands] == [("alice", "honoured")]
    listed = w.forge.list_comments(target, number, limit=commands.MAX_COMMENTS)
    assert len(listed) == 2 * commands.MAX_COMMENTS and listed[0].body == "spam 0"
