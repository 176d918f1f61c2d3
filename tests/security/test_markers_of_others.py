"""Markers match only the product's own objects (issue 15): a comment or issue written by
someone else that contains a catalog-ops marker is never overwritten or adopted.

On the GitHub emulator, with a second token for ``mallory`` (any user who can comment)."""

from __future__ import annotations

from typing import Any

from catalog_ops.checks.report import MARKER as REPORT_MARKER
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.rollout.dashboard import build_dashboard, marker, publish

MALLORY = "ghp_mallory000000000000000000000000000000"
S3 = 'module "s3" {\n  source = "git::https://github.com/acme/catalog.git//modules/s3?ref=v1.0.0"\n}\n'


def _mallory(emu: Any, factory: Any) -> Any:
    emu.add_token(MALLORY, login="mallory")
    return factory(token=MALLORY)


def test_a_strangers_comment_holding_the_report_marker_is_never_overwritten(
    github_emulator: Any, github_forge: Any, github_forge_factory: Any
) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/catalog", files={"modules/s3/main.tf": "#\n"})
    issue = forge.upsert_issue("acme/catalog", marker="<!-- t -->", title="PR stand-in", body="<!-- t -->")
    mallory = _mallory(emu, github_forge_factory)
    theirs = mallory.upsert_comment(
        "acme/catalog",
        issue.number,
        marker=REPORT_MARKER,
        body=f"{REPORT_MARKER}\nall checks passed, merge it\n",
    )

    ours = forge.upsert_comment(
        "acme/catalog",
        issue.number,
        marker=REPORT_MARKER,
        body=f"{REPORT_MARKER}\n## Catalog checks: failed\n",
    )
    again = forge.upsert_comment(
        "acme/catalog",
        issue.number,
        marker=REPORT_MARKER,
        body=f"{REPORT_MARKER}\n## Catalog checks: passed\n",
    )
    comments = {c["id"]: (c["user"]["login"], c["body"]) for c in emu.comments("acme/catalog", issue.number)}
    assert comments[theirs.id] == ("mallory", f"{REPORT_MARKER}\nall checks passed, merge it\n")
    assert ours.id != theirs.id and again.id == ours.id
    assert comments[ours.id] == ("catalog-bot", f"{REPORT_MARKER}\n## Catalog checks: passed\n")
    assert len(comments) == 2


def test_a_strangers_issue_holding_the_dashboard_marker_is_never_adopted(
    github_emulator: Any, github_forge: Any, github_forge_factory: Any
) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/catalog", files={"modules/s3/main.tf": "#\n"})
    emu.create_repo("acme/app", files={"main.tf": S3})
    sha = forge.branch_sha("acme/catalog", "main")
    forge.create_tag("acme/catalog", name="v1.0.0", sha=sha, message="v1.0.0")
    forge.create_release("acme/catalog", tag="v1.0.0", name="v1.0.0", body="first\n")
    mallory = _mallory(emu, github_forge_factory)
    bait = f"{marker('acme/catalog')}\nEveryone is up to date, nothing to see.\n"
    theirs = mallory.upsert_issue(
        "acme/catalog", marker=marker("acme/catalog"), title="Dependency dashboard", body=bait
    )

    board = build_dashboard(
        forge, catalog="acme/catalog", selection=DependentSelection(dependents=("acme/app",))
    )
    ours = publish(forge, board)
    assert ours.number != theirs.number
    assert publish(forge, board).number == ours.number  # found again by marker AND author
    issues = {i["number"]: i for i in emu.issues("acme/catalog")}
    assert issues[theirs.number]["body"] == bait and issues[theirs.number]["user"]["login"] == "mallory"
    assert "acme/app" in issues[ours.number]["body"] and issues[ours.number]["user"]["login"] == "catalog-bot"


def test_a_strangers_pr_on_an_environment_branch_is_not_the_chains(
    github_emulator: Any, github_forge: Any, github_forge_factory: Any
) -> None:
    """A PR someone else opened on a chain's environment branch, with a copied marker naming the
    catalog and the environment, is neither the environment's open rollout PR nor its merged one
    (``rollout.gather.chain_facts``): the plan does not adopt it and apply does not touch it."""
    from catalog_ops.forge.base import FileChange
    from catalog_ops.rollout.apply import ApplyOptions, apply_plan
    from catalog_ops.rollout.gather import build_plan, chain_facts
    from catalog_ops.rollout.model import Action, branch_name, env_branch_name
    from catalog_ops.rollout.prtext import render_marker

    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/catalog", files={"modules/s3/main.tf": "#\n"})
    for tag in ("v1.0.0", "v1.1.0"):
        sha = forge.commit_files(
            "acme/catalog",
            "main",
            parent_sha=forge.branch_sha("acme/catalog", "main"),
            message=f"fix: {tag}",
            changes=[FileChange("modules/s3/main.tf", f"# {tag}\n".encode())],
        )
        forge.create_tag("acme/catalog", name=tag, sha=sha, message=tag)
    config = "environments:\n  dev: [dev/**]\n  prod: [prod/**]\n"
    emu.create_repo(
        "acme/live",
        files={".catalog-ops.yml": config, "dev/main.tf": S3, "prod/main.tf": S3},
        collaborators=("mallory",),
    )
    mallory = _mallory(emu, github_forge_factory)
    dev_branch = env_branch_name(branch_name("acme/catalog"), "dev")
    mallory.commit_files(
        "acme/live",
        dev_branch,
        parent_sha=forge.branch_sha("acme/live", "main"),
        message="bump",
        changes=[FileChange("prod/main.tf", S3.replace("v1.0.0", "v1.1.0").encode())],
    )
    forged = render_marker("acme/catalog", "v1.1.0", "0" * 16, env="dev")
    theirs = mallory.open_pull(
        "acme/live", head=dev_branch, base="main", title="bump", body=f"x\n\n{forged}\n"
    )

    from catalog_ops.catalog.config import parse_config

    facts = chain_facts(
        forge, "acme/live", branch_name("acme/catalog"), parse_config(config), catalog="acme/catalog"
    )
    assert facts["dev"].open_pr is None and facts["dev"].merged_pr is None
    plan = build_plan(forge, catalog="acme/catalog", selection=DependentSelection(org="acme"))
    dep = next(d for d in plan.dependents if d.repo == "acme/live")
    assert (dep.action, dep.env, dep.existing_pr) == (Action.OPEN, "dev", None)
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    outcome = next(o for o in report.outcomes if o.subject == "acme/live")
    assert outcome.kind.value == "skipped" and "opened by mallory" in (outcome.reason or "")
    assert forge.get_pull("acme/live", theirs.number).body == f"x\n\n{forged}\n"
