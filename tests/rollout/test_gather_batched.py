"""rollout.gather: batched plan reads on GitHub and reuse of the previous plan."""

from __future__ import annotations

from typing import Any

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.github import GitHubForge
from catalog_ops.rollout.gather import build_plan

CATALOG = "acme/infrastructure-modules"
SRC = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.0"


def _world(emu: Any, n: int) -> GitHubForge:
    emu.create_repo(CATALOG, files={"modules/network/main.tf": b"# n\n"})
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    for tag in ("v1.0.0", "v1.1.0"):
        if tag == "v1.1.0":  # history is git: the module changes between the tags
            emu.push(CATALOG, "main", {"modules/network/main.tf": "# n 2\n"}, message="fix: network")
        sha = forge.branch_sha(CATALOG, "main")
        assert sha
        forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
        meta = ReleaseMetadata(
            version=tag[1:],
            tag=tag,
            previous=None,
            urgency="normal",
            modules={"modules/network": ModuleChange(path="modules/network", notes=("x",))},
        )
        forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n")
    for i in range(n):
        files = {"main.tf": b'module "x" {\n  source = "./x"\n}\n', "deep/a/b/c/d/e.tf": b"# nothing\n"}
        if i % 4 == 0:
            files["deep/a/b/c/d/net.tf"] = f'module "n" {{\n  source = "{SRC}"\n}}\n'.encode()
        emu.create_repo(f"acme/dep-{i:02d}", files=files)
    return forge


def test_batched_plan_reads_many_repositories_per_request_and_reuses_unchanged_heads(
    github_emulator: Any,
) -> None:
    emu = github_emulator
    forge = _world(emu, 12)
    mark = len(emu.request_log)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    first = emu.request_log[mark:]
    opened = [d for d in plan.dependents if d.action.value == "open"]
    assert [d.repo for d in opened] == [f"acme/dep-{i:02d}" for i in range(0, 12, 4)]
    assert opened[0].files == ("deep/a/b/c/d/net.tf",) and opened[0].head
    assert len(first) < 12  # per-repository reads would take at least 2 requests per dependent
    mark = len(emu.request_log)
    same = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"), previous=plan)
    unchanged = emu.request_log[mark:]
    assert [d.to_json() for d in same.dependents] == [d.to_json() for d in plan.dependents]

    # the catalog's tags are read once per plan (its versions are its tags: "history is git");
    # every other GraphQL request is about the dependents
    def dependent_reads(log: list[Any]) -> int:
        return sum(e.kind == "graphql" and e.operation != "graphql:refs" for e in log)

    assert dependent_reads(unchanged) == 1  # the heads only
    emu.push("acme/dep-04", "main", {"deep/a/b/c/d/net.tf": "# gone\n"}, message="drop")
    mark = len(emu.request_log)
    again = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"), previous=plan)
    second = emu.request_log[mark:]
    by = {d.repo: d for d in again.dependents}
    assert by["acme/dep-04"].action.value == "nothing"  # its head moved: read again
    assert by["acme/dep-00"] == next(d for d in plan.dependents if d.repo == "acme/dep-00")
    # heads; then dep-04 alone: its tree, the directory below four levels, its files
    assert dependent_reads(second) == 4
