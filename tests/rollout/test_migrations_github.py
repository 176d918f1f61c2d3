"""Migration patches through GitHubForge against the GitHub emulator: the patches are read from
the catalog's clone at the tag, applied in the PR, and a patched breaking update is armed for
GitHub's auto-merge only with ``automerge_patched_majors`` and all steps applied."""

from __future__ import annotations

from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from emulator.state import Protection

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"
PATCH = b"schema: 1\nrelease: 2.0.0\nsteps:\n  - kind: rename_input\n    from: cidr\n    to: cidr_block\n"


def _tag(forge: Any, tag: str, changes: list[FileChange]) -> None:
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=forge.branch_sha(CATALOG, "main"),
        message=f"change for {tag}",
        changes=changes,
    )
    forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)


def test_patched_major_on_github(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _tag(forge, "v1.0.0", [FileChange("modules/network/main.tf", b"# n 1\n")])
    _tag(
        forge,
        "v2.0.0",
        [
            FileChange("modules/network/main.tf", b"# n 2\n"),
            FileChange("modules/network/migrations/v2.yml", PATCH),
        ],
    )
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n  cidr   = "10.0.0.0/16"\n}}\n'
    opt_in = ".catalog-ops.yml"
    checks = {"main": Protection(contexts=["ci"])}
    emu.create_repo(
        "acme/auto", files={"main.tf": net, opt_in: "automerge_patched_majors: true\n"}, protection=checks
    )
    emu.create_repo("acme/review", files={"main.tf": net}, protection=checks)
    emu.create_repo(
        "acme/hands",
        files={
            "main.tf": net.replace("}\n", '  cidr_block = "x"\n}\n'),
            opt_in: "automerge_patched_majors: true\n",
        },
        protection=checks,
    )

    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    assert [m.path for m in plan.migrations] == ["modules/network/migrations/v2.yml"]
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    assert not report.failed, report.to_json()
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}

    (auto,) = emu.pulls("acme/auto")
    assert auto["auto_merge"] is not None and not auto["merged"]  # armed: GitHub merges once ci passes
    assert merge["acme/auto"] == "armed on GitHub (merges when required checks ci pass)"
    assert (
        forge.read_file("acme/auto", "main.tf", BRANCH)
        == net.replace("?ref=v1.0.0", "?ref=v2.0.0")
        .replace('  cidr   = "10', '  cidr_block = "10')
        .replace("  source = ", "  source     = ")
        .encode()
    )

    (review,) = emu.pulls("acme/review")
    assert review["auto_merge"] is None and "## Migration applied" in review["body"]

    (hands,) = emu.pulls("acme/hands")
    assert hands["auto_merge"] is None
    assert "needs-hands" in {label["name"] for label in hands["labels"]}
